import numpy as np
import pytest

from lossrecon.geometry import read_line


def piecewise(tau, d1, d2, base=(3.0, -1.0, 2.0)):
    """f = base quadratic plus, past each tau_k, d1_k (t - tau_k) + d2_k / 2 (t - tau_k)^2."""

    def f(t):
        u = np.maximum(t[:, None] - tau[None, :], 0.0)
        jumps = (d1 * u + 0.5 * d2 * u * u).sum(axis=1)
        return base[0] + base[1] * t + base[2] * t * t + jumps

    return f


def test_finds_every_kink_and_its_jumps(rng):
    tau = np.sort(rng.uniform(-0.9, 0.9, 40))
    d1, d2 = rng.normal(size=40), rng.normal(size=40) * 5
    reading = read_line(piecewise(tau, d1, d2), -1.0, 1.0)
    found = np.array([k.t for k in reading.kinks])
    assert len(found) == 40
    np.testing.assert_allclose(found, tau, atol=1e-9)
    np.testing.assert_allclose([k.d1 for k in reading.kinks], d1, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose([k.d2 for k in reading.kinks], d2, rtol=1e-4, atol=1e-4)


def test_two_kinks_in_one_grid_cell_are_not_merged():
    tau = np.array([0.1000, 0.1003])
    reading = read_line(piecewise(tau, np.array([1.0, -2.0]), np.array([3.0, 1.0])), -1, 1)
    np.testing.assert_allclose([k.t for k in reading.kinks], tau, atol=1e-9)


def test_a_quadratic_has_no_kinks():
    reading = read_line(lambda t: 1 + t + t * t, -1.0, 1.0)
    assert reading.kinks == [] and reading.unresolved == []


def test_a_smooth_function_yields_no_kinks_within_the_cap():
    reading = read_line(lambda t: np.exp(3 * t) + np.sin(5 * t), -1.0, 1.0, max_points=20000)
    assert reading.kinks == []
    assert reading.evaluations <= 20000


@pytest.mark.parametrize("batch", [1, 7])
def test_every_round_is_one_batch(batch):
    calls = []

    def f(t):
        calls.append(len(t))
        return piecewise(np.array([0.3 * batch / 7]), np.array([1.0]), np.array([1.0]))(t)

    reading = read_line(f, -1.0, 1.0)
    assert len(reading.kinks) == 1
    assert sum(calls) == reading.evaluations and len(calls) < 15


def test_noise_stops_the_refinement_early(rng):
    f = piecewise(np.array([0.2]), np.array([1.0]), np.array([1.0]))
    reading = read_line(lambda t: f(t) * (1 + 1e-6 * rng.normal(size=len(t))), -1.0, 1.0)
    assert reading.kinks == []
    assert reading.unresolved == [(-1.0, 1.0)]
    assert reading.evaluations < 2000


def test_no_refinement_round_reports_the_whole_line_unresolved():
    f = piecewise(np.array([0.3]), np.array([1.0]), np.array([0.0]))
    reading = read_line(f, -1.0, 1.0, max_rounds=0)
    assert reading.kinks == [] and reading.unresolved == [(-1.0, 1.0)]

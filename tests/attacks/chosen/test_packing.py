"""Packing quantized coordinates several to an answer, and decoding them."""

import numpy as np
import pytest

from lossrecon.attacks.chosen.packing import (
    PackGrid,
    decode,
    pack_grid,
    per_query,
    weights,
    widened,
)


def test_packed_values_decode_to_themselves(rng):
    grid = PackGrid(1 / 16, 0, 17)
    q = rng.integers(0, 17, size=(50, 4))
    omega, gamma = weights(grid, np.arange(4))
    u = gamma + (q / 16) @ omega
    values, bounds, ok = decode(
        u + rng.uniform(-0.2, 0.2, size=50), np.full(50, 0.1), grid, np.arange(4)
    )
    assert ok.all() and np.array_equal(values, q / 16) and np.all(bounds == 0.1 / 16)


def test_a_value_off_the_grid_or_past_its_levels_does_not_decode():
    grid = PackGrid(1 / 16, 0, 17)
    omega, gamma = weights(grid, np.arange(2))
    off = gamma + np.array([0.5 / 16 + 3 / 16, 20 / 16]) @ omega  # half a step off
    past = gamma + np.array([1.0, 40 / 16]) @ omega  # digit 40 > 17 levels
    _, _, ok = decode(np.array([off, past]), np.array([0.01, 0.01]), grid, np.arange(2))
    assert not ok.any()


def test_a_reading_too_blurred_to_tell_integers_does_not_decode():
    grid = PackGrid(1.0, 0, 9)
    _, _, ok = decode(np.array([43.0]), np.array([0.3]), grid, np.arange(2))
    assert not ok.any()


@pytest.mark.parametrize(("levels", "error", "expected"), [(18, 1.1e-6, 4), (18, 2e-15, 11)])
def test_as_many_values_an_answer_holds_as_its_precision_allows(levels, error, expected):
    assert per_query(levels, error, most=14) == expected
    assert levels ** per_query(levels, error, 14) * error <= 0.25


def test_the_grid_comes_from_the_first_samples_and_gaussian_data_have_none(rng):
    digits = rng.integers(0, 17, size=(16, 64)) / 16
    grid = pack_grid(digits, np.full(digits.shape, 1e-7))
    assert grid is not None and grid.step == 1 / 16 and grid.low == 0
    assert grid.high == int(digits.max() * 16) + 1
    assert pack_grid(rng.normal(size=(16, 64)), np.full((16, 64), 1e-7)) is None


def test_standardized_features_pack_on_a_grid_of_their_own(rng):
    """8-bit features standardized one by one: no common step, an affine grid each, on
    which packed values decode to themselves."""
    raw = rng.integers(0, 256, size=(16, 6)).astype(float)
    mean, std = rng.uniform(50, 200, size=6), rng.uniform(20, 80, size=6)
    x = (raw - mean) / std
    bounds = np.full(x.shape, 1e-7)
    assert pack_grid(x, bounds) is None
    grid = pack_grid(x, bounds, per_feature=True)
    assert grid is not None and grid.per_feature
    np.testing.assert_allclose(grid.step, 1 / std, rtol=1e-6)
    coordinates = np.array([1, 4])
    omega, gamma = weights(grid, coordinates)
    seen = rng.integers(raw.min(0), raw.max(0) + 1, size=(30, 6))  # within the levels seen
    later = (seen - mean) / std
    later = later[:, coordinates]
    values, _, ok = decode(gamma + later @ omega, np.full(30, 0.01), grid, coordinates)
    assert ok.all()
    np.testing.assert_allclose(values, later, atol=1e-5)


def test_gaussian_features_have_no_grid_of_their_own(rng):
    x = rng.normal(size=(16, 6))
    assert pack_grid(x, np.full(x.shape, 1e-7), per_feature=True) is None


def test_a_grid_leaves_more_levels_where_the_answer_has_room():
    grid = PackGrid(1 / 255, 0, 253)
    wide = widened(grid, 2, 1e-6)
    assert wide.low == 0 and grid.levels < wide.levels <= 2 * grid.levels
    assert float(wide.levels) ** 2 * 1e-6 <= 0.125
    assert widened(PackGrid(1.0, -3, 3), 1, 1e-3).low < -3


def test_a_digit_carried_into_its_neighbour_is_caught_on_the_grid():
    """Photograph patches, normalized as image pipelines do: the first sample read shows
    only some of the 8-bit levels, so a darker pixel of a later one carries into the
    next digit. The wide bounds of its unpacked coordinates hid that from its norm
    check (a sample 1.34 off in one pixel came back with its error bound 0); on the
    grid the check is tight, and the sample is read again unpacked."""
    torch = pytest.importorskip("torch")
    from sklearn.datasets import load_sample_images

    import lossrecon as lr

    photos, rng = load_sample_images().images, np.random.default_rng(0)
    crops = []
    for _ in range(4):
        photo = photos[rng.integers(len(photos))]
        top, left = rng.integers(photo.shape[0] - 32), rng.integers(photo.shape[1] - 32)
        crops.append(photo[top : top + 8, left : left + 8].transpose(2, 0, 1))
    pixels = np.array(crops, dtype=np.float32) / 255.0
    x = ((pixels - 0.5) / 0.5).reshape(4, -1).astype(np.float32)
    torch.manual_seed(0)
    model = torch.nn.Sequential(
        torch.nn.Linear(192, 64),
        torch.nn.ReLU(),
        torch.nn.Linear(64, 32),
        torch.nn.ReLU(),
        torch.nn.Linear(32, 10),
    )
    classes = np.array([4, 5, 7, 9])
    client = lr.TorchLossOracle(model, x, classes, torch.nn.CrossEntropyLoss())

    class Undeclared:  # a Flower server is told nothing
        n_params = client.n_params

        def __call__(self, W):
            return client(W)

    oracle = Undeclared()
    rec = lr.attacks.chosen_weights(oracle, [192, 64, 32, 10], bias=True, snap=True)
    assert lr.evaluate(rec, x, np.eye(10)[classes])["recall"] == 1.0
    ulp = np.spacing(np.float32(1.0))
    assert all(np.abs(x - a).max(axis=1).min() <= ulp for a in rec.inputs)

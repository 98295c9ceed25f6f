import warnings

import numpy as np
import pytest

import lossrecon as lr
from lossrecon.errors import ConfigurationError
from lossrecon.oracle import ClippedLoss, NoisyLoss, RoundedLoss, SoftplusLoss


@pytest.fixture
def problem(rng):
    net = lr.ReLUNetwork([5, 4, 3])
    x, y = rng.normal(size=(15, 5)), rng.normal(size=(15, 3))
    return net, x, y, lr.NumpyLossOracle(net, x, y, reduction="sum")


def test_noise_is_relative_and_seeded(problem):
    net, _, _, oracle = problem
    W = net.random_weights(2000, random_state=1)
    noisy = NoisyLoss(oracle, 0.01, random_state=3)(W)
    ratio = noisy / oracle(W) - 1
    assert abs(ratio.std() - 0.01) < 1e-3
    np.testing.assert_array_equal(noisy, NoisyLoss(oracle, 0.01, random_state=3)(W))
    assert NoisyLoss(oracle, 0.0).reduction == "sum"


def test_rounding_keeps_significant_digits():
    class Fixed:
        n_params = 1

        def __call__(self, W):
            return np.array([123456.789, 0.000123456, -9.87654, 0.0])

    np.testing.assert_allclose(
        RoundedLoss(Fixed(), 3)(np.zeros((4, 1))), [123000.0, 0.000123, -9.88, 0.0]
    )


def test_clipping(problem):
    net, _, _, oracle = problem
    W = net.random_weights(50, random_state=2)
    ceiling = float(np.median(oracle(W)))
    clipped = ClippedLoss(oracle, ceiling)(W)
    assert clipped.max() == ceiling
    np.testing.assert_array_equal(clipped, np.minimum(oracle(W), ceiling))


def test_low_precision_evaluation(problem):
    net, x, y, oracle = problem
    W = net.random_weights(20, random_state=4)
    for dtype, rtol in [("float32", 1e-5), ("float16", 1e-2)]:
        low = lr.NumpyLossOracle(net, x, y, reduction="sum", dtype=dtype)(W)
        assert low.dtype == np.float64
        np.testing.assert_allclose(low, oracle(W), rtol=rtol)
        assert not np.array_equal(low, oracle(W))


def test_bad_parameters(problem):
    net, x, y, oracle = problem
    with pytest.raises(ConfigurationError):
        NoisyLoss(oracle, -1.0)
    with pytest.raises(ConfigurationError):
        RoundedLoss(oracle, 0)
    with pytest.raises(ConfigurationError, match="dtype"):
        lr.NumpyLossOracle(net, x, y, dtype="int8")


@pytest.mark.parametrize(
    "defend",
    [
        lambda o: RoundedLoss(o, 8),
        lambda o: NoisyLoss(o, 1e-9, random_state=0),
        lambda o: ClippedLoss(o, 1.0),
    ],
)
def test_the_attack_degrades_without_garbage(problem, defend):
    """Behind a defense the chosen-weights attack may recover less, never wrong samples."""
    _, x, y, oracle = problem
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rec = lr.attacks.chosen_weights(defend(oracle), [5, 4, 3])
    report = lr.evaluate(rec, x, y)
    assert report["precision"] in (None, 1.0)


def test_softplus_tends_to_relu_and_is_smooth(problem):
    net, x, y, oracle = problem
    W = net.random_weights(20, random_state=4)
    cold = SoftplusLoss(net, x, y, temperature=1e-9, reduction="sum")
    np.testing.assert_allclose(cold(W), oracle(W), rtol=1e-7)
    warm = SoftplusLoss(net, x, y, temperature=0.5, reduction="sum")
    assert np.all(warm(W) != oracle(W))
    with pytest.raises(ConfigurationError, match="temperature"):
        SoftplusLoss(net, x, y, temperature=0.0)


@pytest.mark.parametrize("temperature", [1e-12, 1e-3, 0.3])
def test_softplus_defense_hides_kinks_without_garbage(problem, temperature):
    """A cold softplus is ReLU and leaks everything; a warm one leaves no kink to read."""
    net, x, y, _ = problem
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rec = lr.attacks.chosen_weights(SoftplusLoss(net, x, y, temperature), [5, 4, 3])
    report = lr.evaluate(rec, x, y)
    assert report["precision"] in (None, 1.0)
    if temperature < 1e-9:
        assert report["recall"] == 1.0

import numpy as np
import pytest
import torch
from torch.nn.utils import vector_to_parameters

import lossrecon as lr
from lossrecon.errors import ConfigurationError
from tests.torch_reference import torch_sequential


def loss_by_hand(net, w, x, y):
    """The paper's E(w) = sum_i 1/2 ||b_i - F_w(a_i)||^2, one sample at a time."""
    total = 0.0
    for a, b in zip(x, y, strict=True):
        h = a
        layers = net.unflatten(w)
        for k, (matrix, bias) in enumerate(layers):
            h = matrix @ h + (0 if bias is None else bias)
            if k < len(layers) - 1:
                h = np.maximum(h, 0)
        total += 0.5 * np.sum((b - h) ** 2)
    return total


@pytest.mark.parametrize("bias", [False, True])
def test_loss_matches_hand_computation(rng, bias):
    net = lr.ReLUNetwork([4, 5, 3, 2], bias=bias)
    x, y = rng.normal(size=(9, 4)), rng.normal(size=(9, 2))
    oracle = lr.NumpyLossOracle(net, x, y)
    W = net.random_weights(5, random_state=1)
    expected = [loss_by_hand(net, w, x, y) for w in W]
    np.testing.assert_allclose(oracle(W), expected, rtol=1e-13)


@pytest.mark.parametrize(
    ("reduction", "torch_reduction", "factor"),
    [
        ("half_sum", "sum", 0.5),
        ("sum", "sum", 1.0),
        ("mean", "mean", 1.0),
    ],
)
def test_loss_matches_torch_mse(rng, reduction, torch_reduction, factor):
    widths = [3, 4, 2]
    net = lr.ReLUNetwork(widths, bias=True)
    model = torch_sequential(widths, "relu", True)
    x, y = rng.normal(size=(6, 3)), rng.normal(size=(6, 2))
    oracle = lr.NumpyLossOracle(net, torch.from_numpy(x), torch.from_numpy(y), reduction=reduction)
    W = net.random_weights(3, random_state=2)
    mse = torch.nn.MSELoss(reduction=torch_reduction)
    for w, ours in zip(W, oracle(W), strict=True):
        vector_to_parameters(torch.from_numpy(w), model.parameters())
        with torch.no_grad():
            expected = factor * mse(model(torch.from_numpy(x)), torch.from_numpy(y)).item()
        assert ours == pytest.approx(expected, rel=1e-13)


def test_regularizer_is_added(rng):
    net = lr.ReLUNetwork([2, 3, 1])
    x, y = rng.normal(size=(4, 2)), rng.normal(size=(4, 1))
    plain = lr.NumpyLossOracle(net, x, y)
    decayed = lr.NumpyLossOracle(net, x, y, regularizer=lr.weight_decay(0.3))
    W = net.random_weights(4, random_state=3)
    np.testing.assert_allclose(decayed(W) - plain(W), 0.15 * (W**2).sum(1), rtol=1e-12)


def test_chunking_gives_the_same_losses(rng):
    net = lr.ReLUNetwork([5, 6, 2])
    x, y = rng.normal(size=(50, 5)), rng.normal(size=(50, 2))
    whole = lr.NumpyLossOracle(net, x, y)
    tiny = lr.NumpyLossOracle(net, x, y, max_chunk_bytes=1)
    assert tiny.chunk_rows == 1
    W = net.random_weights(7, random_state=4)
    np.testing.assert_allclose(tiny(W), whole(W), rtol=1e-14)


def test_chunk_size_keeps_large_batches_small():
    net = lr.ReLUNetwork([64, 32, 16, 10])
    oracle = lr.NumpyLossOracle(net, np.zeros((2000, 64)), np.zeros((2000, 10)))
    bytes_per_chunk = oracle.chunk_rows * 2000 * (32 + 16 + 10) * 3 * 8
    assert bytes_per_chunk <= 256 * 2**20
    assert oracle.chunk_rows >= 32


def test_one_dimensional_targets_are_one_output(rng):
    net = lr.ReLUNetwork([2, 2, 1])
    x, y = rng.normal(size=(3, 2)), rng.normal(size=3)
    oracle = lr.NumpyLossOracle(net, x, y)
    assert oracle.targets.shape == (3, 1)


@pytest.mark.parametrize(
    ("x_shape", "y_shape", "message"),
    [
        ((3, 4), (3, 1), r"inputs must have shape \(M, 2\)"),
        ((3, 2), (4, 1), r"targets must have shape \(3, 1\)"),
    ],
)
def test_data_shapes_are_checked(x_shape, y_shape, message):
    net = lr.ReLUNetwork([2, 2, 1])
    with pytest.raises(ConfigurationError, match=message):
        lr.NumpyLossOracle(net, np.zeros(x_shape), np.zeros(y_shape))


def test_unknown_reduction_is_refused():
    net = lr.ReLUNetwork([2, 2, 1])
    with pytest.raises(ConfigurationError, match="unknown reduction"):
        lr.NumpyLossOracle(net, np.zeros((1, 2)), np.zeros((1, 1)), reduction="avg")


def test_nan_data_is_refused():
    net = lr.ReLUNetwork([2, 2, 1])
    with pytest.raises(ConfigurationError, match="NaN"):
        lr.NumpyLossOracle(net, np.full((1, 2), np.nan), np.zeros((1, 1)))


@pytest.mark.parametrize("dtype", ["float32", "float16"])
def test_lower_precision_answers_are_float32_numbers_like_a_frameworks(rng, dtype):
    net = lr.ReLUNetwork([5, 4, 2])
    x, y = rng.normal(size=(30, 5)), rng.normal(size=(30, 2))
    W = net.random_weights(20, random_state=1) * 30.0  # float16 alone would overflow
    losses = lr.NumpyLossOracle(net, x, y, dtype=dtype)(W)
    assert np.all(np.isfinite(losses))
    assert np.array_equal(losses.astype(np.float32), losses)
    exact = lr.NumpyLossOracle(net, x, y)(W)
    assert not np.array_equal(losses, exact)
    assert np.allclose(losses, exact, rtol={"float32": 1e-5, "float16": 1e-1}[dtype])

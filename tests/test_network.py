import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch.nn.utils import parameters_to_vector, vector_to_parameters

import lossrecon as lr
from lossrecon.errors import ConfigurationError
from tests.torch_reference import torch_sequential

ACTIVATIONS = [
    ("relu", {}),
    ("leaky_relu", {"slope": 0.2}),
    ("maxout", {"k": 3}),
    ("lwta", {"k": 2}),
]


@st.composite
def architectures(draw):
    name, params = draw(st.sampled_from(ACTIVATIONS))
    step = params.get("k", 1) if name == "lwta" else 1
    depth = draw(st.integers(1, 4))
    hidden = [step * draw(st.integers(1, 4)) for _ in range(depth - 1)]
    widths = [draw(st.integers(1, 6)), *hidden, draw(st.integers(1, 3))]
    return widths, name, params, draw(st.booleans())


@settings(max_examples=60, deadline=None)
@given(arch=architectures(), seed=st.integers(0, 2**31 - 1))
def test_forward_matches_torch_sequential(arch, seed):
    widths, name, params, bias = arch
    net = lr.ReLUNetwork(widths, activation=name, bias=bias, **params)
    pieces = params.get("k", 1) if name == "maxout" else 1
    model = torch_sequential(widths, name, bias, pieces, **params)
    rng = np.random.default_rng(seed)
    W = rng.normal(size=(3, net.n_params))
    x = rng.normal(size=(7, widths[0]))
    ours = net.forward(W, x)
    assert ours.shape == (3, 7, widths[-1])
    for k in range(3):
        vector_to_parameters(torch.from_numpy(W[k]), model.parameters())
        with torch.no_grad():
            expected = model(torch.from_numpy(x)).numpy()
        np.testing.assert_allclose(ours[k], expected, rtol=0, atol=1e-12)


@pytest.mark.parametrize(("name", "params"), ACTIVATIONS)
def test_flatten_order_is_pytorch_parameter_order(name, params):
    widths = [3, 4, 2]
    pieces = params.get("k", 1) if name == "maxout" else 1
    net = lr.ReLUNetwork(widths, activation=name, bias=True, **params)
    model = torch_sequential(widths, name, True, pieces, **params)
    linears = [m for m in model if isinstance(m, torch.nn.Linear)]
    w = net.flatten(
        [m.weight.detach().numpy() for m in linears], [m.bias.detach().numpy() for m in linears]
    )
    np.testing.assert_array_equal(w, parameters_to_vector(model.parameters()).detach().numpy())
    for (matrix, bias), module in zip(net.unflatten(w), linears, strict=True):
        np.testing.assert_array_equal(matrix, module.weight.detach().numpy())
        np.testing.assert_array_equal(bias, module.bias.detach().numpy())


def test_n_params_counts_maxout_pieces_and_biases():
    assert lr.ReLUNetwork([4, 3, 2]).n_params == 4 * 3 + 3 * 2
    assert lr.ReLUNetwork([4, 3, 2], bias=True).n_params == 4 * 3 + 3 + 3 * 2 + 2
    assert lr.ReLUNetwork([4, 3, 2], activation="maxout", k=2).n_params == 4 * 6 + 3 * 2


def test_single_weight_vector_gives_unbatched_output(rng):
    net = lr.ReLUNetwork([3, 5, 2])
    w = net.random_weights(random_state=0)
    x = rng.normal(size=(4, 3))
    np.testing.assert_array_equal(net.forward(w, x), net.forward(w[None], x)[0])


def test_activation_patterns_relu(rng):
    net = lr.ReLUNetwork([2, 2, 1])
    w = net.flatten([np.array([[1.0, 0.0], [0.0, -1.0]]), np.array([[1.0, 1.0]])])
    x = np.array([[1.0, 1.0], [-1.0, -1.0]])
    (pattern,) = net.activation_patterns(w, x)
    np.testing.assert_array_equal(pattern, [[True, False], [False, True]])


def test_activation_patterns_maxout_gives_piece_index():
    net = lr.ReLUNetwork([1, 1, 1], activation="maxout", k=3)
    w = net.flatten([np.array([[1.0], [-2.0], [0.5]]), np.array([[1.0]])])
    (pattern,) = net.activation_patterns(w, np.array([[1.0], [-1.0]]))
    np.testing.assert_array_equal(pattern, [[0], [1]])


def test_activation_patterns_lwta_marks_winners():
    net = lr.ReLUNetwork([1, 2, 1], activation="lwta", k=2)
    w = net.flatten([np.array([[1.0], [-1.0]]), np.array([[1.0, 1.0]])])
    (pattern,) = net.activation_patterns(w, np.array([[2.0], [-2.0]]))
    np.testing.assert_array_equal(pattern, [[True, False], [False, True]])


def test_random_weights_is_seeded():
    net = lr.ReLUNetwork([3, 4, 1], bias=True)
    np.testing.assert_array_equal(net.random_weights(2, 7), net.random_weights(2, 7))
    assert net.random_weights(2, 7).shape == (2, net.n_params)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"widths": [3]}, "at least"),
        ({"widths": [3, 0, 1]}, "positive"),
        ({"widths": [3, 3, 1], "activation": "lwta", "k": 2}, "divisible"),
        ({"widths": [3, 2, 1], "activation": "swish"}, "unknown activation"),
        ({"widths": [3, 2, 1], "activation": "maxout", "k": 1}, "at least 2"),
        ({"widths": [3, 2, 1], "activation": "relu", "slope": 0.1}, "bad parameters"),
        ({"widths": [3, 2, 1], "activation": "leaky_relu", "slope": 1.0}, "differ from 1"),
    ],
)
def test_bad_configuration_is_refused(kwargs, message):
    with pytest.raises(ConfigurationError, match=message):
        lr.ReLUNetwork(**kwargs)


def test_wrong_weight_length_is_refused():
    net = lr.ReLUNetwork([2, 2, 1])
    with pytest.raises(ConfigurationError, match="N=6"):
        net.forward(np.zeros(5), np.zeros((1, 2)))
    with pytest.raises(ConfigurationError, match="shape"):
        net.flatten([np.zeros((2, 2)), np.zeros((2, 1))])

import numpy as np
import pytest
import sympy
from hypothesis import given, settings
from hypothesis import strategies as st

import lossrecon as lr
from lossrecon import symbolic
from lossrecon.errors import ConfigurationError

W = sympy.symbols("ω1:7", real=True)
X = sympy.symbols("x1:3", real=True)


def test_figure_2_virtual_polynomials_of_type_1_3():
    w1, w2, w3, w4, w5, w6 = W
    x1, x2 = X
    polys = symbolic.virtual_polynomials([2, 2, 1], node=(1, 3))
    expected = [
        w1 * w5 * x1 + w2 * w6 * x1 + w3 * w5 * x2 + w4 * w6 * x2,
        w1 * w5 * x1 + w3 * w5 * x2,
        w2 * w6 * x1 + w4 * w6 * x2,
        sympy.Integer(0),
    ]
    assert list(polys) == expected
    printed = [[s.paper_notation(2) for s in sets] for sets in polys.values()]
    assert printed[:3] == [
        ["{(1, 1, active), (1, 2, active), (2, 1, active), (2, 2, active)}"],
        ["{(1, 1, active), (1, 2, active), (2, 1, active), (2, 2, negative)}"],
        ["{(1, 1, active), (1, 2, active), (2, 1, negative), (2, 2, active)}"],
    ]
    (all_negative,) = polys[sympy.Integer(0)]
    assert all_negative.states == ((0, 0),)


ACTIVATIONS = [
    ("relu", {}),
    ("leaky_relu", {"slope": 0.25}),
    ("lwta", {"k": 2}),
    ("maxout", {"k": 2}),
]


@settings(max_examples=30, deadline=None)
@given(
    choice=st.sampled_from(ACTIVATIONS),
    sizes=st.lists(st.integers(1, 2), min_size=2, max_size=3),
    n=st.integers(1, 3),
    seed=st.integers(0, 2**31 - 1),
)
def test_virtual_polynomial_of_the_realised_set_equals_the_network(choice, sizes, n, seed):
    """At weights w and a sample a, the virtual polynomial of a's activation set is the
    network's pre-activation of that node."""
    name, params = choice
    hidden = [2 * s if name == "lwta" else s for s in sizes[:-1]]
    widths = [n, *hidden, sizes[-1]]
    net = lr.ReLUNetwork(widths, activation=name, **params)
    rng = np.random.default_rng(seed)
    w, a = net.random_weights(random_state=rng), rng.normal(size=(1, n))
    aset = symbolic.from_patterns(net.activation_patterns(w, a), 0)
    numeric = net.pre_activations(w[None], a)
    substitution = symbolic.weights_as_substitution(net, w)
    for k in range(2, len(widths) + 1):
        poly = symbolic.layer_pre_activations(widths, aset, k, symbolic.exact(a), net.activation)
        values = np.array(poly.subs(substitution), dtype=float).ravel()
        np.testing.assert_allclose(values, numeric[k - 2][0, 0], rtol=1e-9, atol=1e-12)


def test_maxout_boundaries_are_piece_differences():
    aset = symbolic.ActivationSet(((1,),))
    (boundary,) = symbolic.boundary_polynomials(
        [1, 1, 1], (1, 2), aset, activation="maxout", inputs=[1]
    )
    w1, w2 = sympy.symbols("ω1:3", real=True)
    assert boundary == w2 - w1


def test_bad_nodes_are_refused():
    with pytest.raises(ConfigurationError, match="no node"):
        symbolic.virtual_polynomials([2, 2, 1], node=(3, 2))
    with pytest.raises(ConfigurationError, match="layer must be"):
        symbolic.virtual_polynomials([2, 2, 1], node=(1, 1))

import numpy as np
import pytest
import sympy
from hypothesis import given, settings
from hypothesis import strategies as st

import lossrecon as lr
from lossrecon import symbolic

ACTIVATIONS = [
    ("relu", {}),
    ("leaky_relu", {"slope": 0.25}),
    ("maxout", {"k": 2}),
    ("lwta", {"k": 2}),
]


def small_problem(name, params, seed=0):
    widths = [2, 2, 2, 1]
    net = lr.ReLUNetwork(widths, activation=name, **params)
    rng = np.random.default_rng(seed)
    inputs = rng.integers(-3, 4, size=(3, 2)).astype(float)
    targets = rng.integers(-2, 3, size=(3, 1)).astype(float)
    return net, inputs, targets, rng


def evaluate_at(expr, net, w):
    return float(expr.subs(symbolic.weights_as_substitution(net, w)))


@pytest.mark.parametrize(("name", "params"), ACTIVATIONS)
def test_theorem_2_1_piece_equals_the_numeric_loss(name, params):
    """On the region around w, E is the piece's polynomial: equal to the oracle at w and
    at a nearby weight vector that satisfies the same sign conditions."""
    net, inputs, targets, rng = small_problem(name, params)
    oracle = lr.NumpyLossOracle(net, inputs, targets)
    w = net.random_weights(random_state=rng)
    piece = symbolic.loss_piece(net, inputs, targets, w)
    assert all(evaluate_at(c, net, w) > 0 for c in piece.conditions)
    nearby = w + 1e-7 * rng.normal(size=w.shape)
    assert all(evaluate_at(c, net, nearby) > 0 for c in piece.conditions)
    for point in (w, nearby):
        assert evaluate_at(piece.loss, net, point) == pytest.approx(oracle(point)[0], rel=1e-10)


def test_regularizer_adds_to_every_piece(rng):
    net, inputs, targets, rng = small_problem("relu", {})
    w = net.random_weights(random_state=rng)
    r = sympy.Rational(3, 20) * sum(s**2 for s in symbolic.weight_symbols(net.widths))
    plain = symbolic.loss_piece(net, inputs, targets, w)
    regular = symbolic.loss_piece(net, inputs, targets, w, regularizer=r)
    assert sympy.expand(regular.loss - plain.loss - r) == 0
    assert regular.conditions == plain.conditions
    oracle = lr.NumpyLossOracle(net, inputs, targets, regularizer=lr.weight_decay(0.3))
    assert evaluate_at(regular.loss, net, w) == pytest.approx(oracle(w)[0], rel=1e-10)


def kinds(widths, activation="relu"):
    return {(c.sample_free, c.linear, c.kind) for c in symbolic.sing_components(widths, activation)}


def test_one_hidden_layer_has_only_sample_hyperplanes():
    """Prop. 2.9 fails for one hidden layer: every component of Sing(X) is w·a = 0."""
    components = symbolic.sing_components([2, 2, 1])
    assert len(components) == 2
    assert all(not c.sample_free and c.kind == "sample" for c in components)


def test_proposition_2_9_with_two_hidden_layers():
    assert (True, True, "weight") in kinds([2, 2, 2, 1])


def test_figure_3_factor_is_in_sing_only_below_a_relu():
    """ω7ω9 + ω8ω10 is a factor of the output of [2,2,1,2,1], but an output node has no
    ReLU, so the loss is smooth across its zero set; one layer more and it is in Sing(X)."""
    w = sympy.symbols("ω1:11", real=True)
    factor = symbolic.canonical(w[6] * w[8] + w[7] * w[9])
    assert factor not in {c.polynomial for c in symbolic.sing_components([2, 2, 1, 2, 1])}
    deeper = {c.polynomial: c for c in symbolic.sing_components([2, 2, 1, 2, 1, 1])}
    assert deeper[factor].sample_free and not deeper[factor].linear


@settings(max_examples=12, deadline=None)
@given(
    widths=st.lists(st.integers(1, 3), min_size=3, max_size=4),
    name=st.sampled_from(["relu", "leaky_relu"]),
)
def test_corollary_2_10_linear_components_are_weights_or_samples(widths, name):
    for component in symbolic.sing_components(widths, name):
        if component.linear:
            assert component.kind in ("weight", "sample"), component
        if component.kind == "sample":
            assert not component.sample_free


def pattern_key(net, w, inputs):
    return tuple(p.tobytes() for p in net.activation_patterns(w, inputs))


def kinks_on_line(net, inputs, p, q):
    """Where the activation patterns change along p + t q, t in [-3, 3], to ~1e-14."""
    ts = np.linspace(-3, 3, 2001)
    keys = [pattern_key(net, p + t * q, inputs) for t in ts]
    found = []
    for lo, hi, k_lo, k_hi in zip(ts[:-1], ts[1:], keys[:-1], keys[1:], strict=True):
        if k_lo == k_hi:
            continue
        for _ in range(60):
            mid = (lo + hi) / 2
            if pattern_key(net, p + mid * q, inputs) == k_lo:
                lo = mid
            else:
                hi = mid
        found.append((lo, hi))
    return found


def divides(u, poly):
    gens = sorted(poly.free_symbols | u.free_symbols, key=str)
    return sympy.div(poly, u, *gens)[1] == 0


def test_numeric_kinks_lie_on_sing_polynomials():
    """Where the loss's polynomial piece changes along a line, a defining polynomial of
    Sing(X) for one of the samples vanishes; and f - g is divisible by it but is not a
    virtual polynomial (Sec. 2.5 says it is)."""
    net, inputs, targets, rng = small_problem("relu", {}, seed=3)
    p, q = net.random_weights(random_state=rng), rng.normal(size=net.n_params)
    sing = [
        [s.polynomial for s in symbolic.sing_defining_polynomials(net.widths, symbolic.exact(a))]
        for a in inputs
    ]
    kinks = kinks_on_line(net, inputs, p, q)
    assert len(kinks) >= 3
    bends = 0
    for lo, hi in kinks:
        f = symbolic.loss_piece(net, inputs, targets, p + lo * q).loss
        g = symbolic.loss_piece(net, inputs, targets, p + hi * q).loss
        if sympy.expand(f - g) == 0:
            continue
        bends += 1
        at = p + (lo + hi) / 2 * q
        vanishing = [u for polys in sing for u in polys if abs(evaluate_at(u, net, at)) < 1e-9]
        assert vanishing
        difference = sympy.expand(f - g)
        assert any(divides(u, difference) for u in vanishing)
        degrees = symbolic.monomial_degrees(f - g, net.widths)
        assert max(max(d) for d in degrees) == 2, "virtual polynomials have degrees 0 or 1"
    assert bends >= 3

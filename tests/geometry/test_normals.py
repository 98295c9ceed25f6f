import numpy as np
import pytest
import sympy
from hypothesis import given, settings
from hypothesis import strategies as st

import lossrecon as lr
from lossrecon import symbolic
from lossrecon.geometry import explain_kink, gradient_jumps, node_gradient, read_line


def axis_line(net, inputs, targets, coordinate, seed, span=8.0):
    """A loss oracle, a base point and the reading of the line along one weight."""
    oracle = lr.NumpyLossOracle(net, inputs, targets)
    base = np.random.default_rng(seed).normal(size=net.n_params)
    direction = np.zeros(net.n_params)
    direction[coordinate] = 1.0
    reading = read_line(lambda t: oracle(base + t[:, None] * direction), -span, span)
    return oracle, base, direction, reading


def crossed_gradients(net, inputs, point):
    """∇_w z of every (sample, unit) whose pre-activation is 0 at point (nonzero ones)."""
    grads = []
    for a in inputs:
        matrices = [m for m, _ in net.unflatten(point)]
        h = a
        for layer, matrix in enumerate(matrices[:-1], start=1):
            z = matrix @ h
            scale = np.linalg.norm(matrix, axis=1) * np.linalg.norm(h)
            for node in np.flatnonzero(np.abs(z) <= 1e-6 * scale):
                grad = node_gradient(net.widths, point, a, layer, int(node))
                if np.any(grad):
                    grads.append(grad)
            h = np.maximum(z, 0.0)
    return grads


@settings(max_examples=40, deadline=None)
@given(
    widths=st.sampled_from([[3, 4, 1], [4, 3, 3, 2], [5, 4, 3, 3, 1]]),
    m=st.integers(2, 8),
    seed=st.integers(0, 10_000),
)
def test_every_verified_jump_is_a_multiple_of_the_crossed_units_gradient(widths, m, seed):
    """At a kink where unit (l, k) turns for sample a, E_right - E_left = z G, so the
    gradient jump is G ∇_w z: every finite verified jump is parallel to node_gradient,
    entry by entry (the zeros where ∇z is zero included)."""
    net = lr.ReLUNetwork(widths)
    rng = np.random.default_rng(seed)
    inputs, targets = rng.normal(size=(m, widths[0])), rng.normal(size=(m, widths[-1]))
    coordinate = int(rng.integers(net.n_params - widths[-1] * widths[-2]))
    oracle, base, direction, reading = axis_line(net, inputs, targets, coordinate, seed)
    for kinks, lo, hi in reading.segments(-8.0, 8.0):
        jumps, errors = gradient_jumps(
            oracle, base, direction, kinks, lo, hi, np.arange(net.n_params), verify=True
        )
        for t, jump, error in zip(kinks, jumps, errors, strict=True):
            if np.isnan(jump).any():
                continue
            point = base + t * direction
            tolerance = 1e-6 * np.abs(jump).max() + 10 * error
            assert any(
                np.all(np.abs(jump - (grad @ jump) / (grad @ grad) * grad) <= tolerance)
                for grad in crossed_gradients(net, inputs, point)
            )


def test_kinks_listed_together_share_their_gaps_correctly():
    """Shifting coordinates moves kinks; a kink that jumps across its neighbour's points
    must not be read as a piece (the jumps still match ∇z for every finite entry)."""
    net = lr.ReLUNetwork([4, 5, 3, 1])
    rng = np.random.default_rng(3)
    inputs, targets = rng.normal(size=(40, 4)), rng.normal(size=(40, 1))
    oracle, base, direction, reading = axis_line(net, inputs, targets, 0, seed=3)
    assert not reading.unresolved
    kinks = np.array([k.t for k in reading.kinks])
    jumps, _ = gradient_jumps(oracle, base, direction, kinks, -8.0, 8.0, np.arange(net.n_params))
    finite = ~np.isnan(jumps).any(1)
    assert finite.mean() > 0.8
    for t, jump in zip(kinks[finite], jumps[finite], strict=True):
        point = base + t * direction
        explanation = explain_kink(net.widths, point, jump / np.linalg.norm(jump), tol=1e-6)
        assert explanation is not None


def test_jump_is_the_gradient_of_g_minus_f_and_the_virtual_polynomial_divides_it():
    """Sec. 2.5 on a small network, numerics against symbols: the pieces f (left) and g
    (right) of E at a kink match the line's values; the measured jump is ∇(g - f) at the
    kink; the crossed unit's virtual polynomial u divides g - f, and ∇(g - f) = (g - f)/u
    times ∇u there (g - f itself is not a virtual polynomial: its layer-wise degrees reach
    2, docs/paper-map.md)."""
    net = lr.ReLUNetwork([2, 2, 2, 1])
    rng = np.random.default_rng(5)
    inputs = rng.choice([-3.0, -2.0, -1.0, 1.0, 2.0, 3.0], size=(3, 2))
    targets = rng.integers(-2, 3, size=(3, 1)).astype(float)
    oracle, base, direction, reading = axis_line(net, inputs, targets, 1, seed=5, span=4.0)
    assert not reading.unresolved
    kinks = np.array([k.t for k in reading.kinks])
    assert len(kinks) >= 2
    jumps, _ = gradient_jumps(oracle, base, direction, kinks, -4.0, 4.0, np.arange(net.n_params))
    symbols = symbolic.weight_symbols(net.widths)
    order = symbolic.paper_to_flat(net.widths)
    edges = np.concatenate([[-4.0], kinks, [4.0]])
    for k, (t, jump) in enumerate(zip(kinks, jumps, strict=True)):
        left = base + 0.5 * (edges[k] + t) * direction
        right = base + 0.5 * (t + edges[k + 2]) * direction
        f = symbolic.loss_piece(net, inputs, targets, left).loss
        g = symbolic.loss_piece(net, inputs, targets, right).loss
        point = base + t * direction
        at = symbolic.weights_as_substitution(net, point)
        for piece, w in ((f, left), (g, right)):
            value = float(piece.subs(symbolic.weights_as_substitution(net, w)))
            assert value == pytest.approx(oracle(w)[0], rel=1e-12)
        gradient = np.zeros(net.n_params)
        gradient[order] = [float(sympy.diff(g - f, s).subs(at)) for s in symbols]
        assert np.allclose(jump, gradient, rtol=1e-7, atol=1e-7 * np.abs(gradient).max())
        explanation = explain_kink(net.widths, point, jump / np.linalg.norm(jump))
        assert explanation is not None
        cosines = np.abs(inputs @ explanation.direction) / np.linalg.norm(inputs, axis=1)
        sample = int(np.argmax(cosines))
        activation_set = symbolic.from_patterns(net.activation_patterns(left, inputs), sample)
        u = symbolic.virtual_polynomial(
            net.widths,
            (explanation.node + 1, explanation.layer + 1),
            activation_set,
            symbolic.exact(inputs[sample]),
        )
        quotient, remainder = sympy.div(sympy.expand(g - f), u, *symbols)
        assert remainder == 0
        grad_u = np.zeros(net.n_params)
        grad_u[order] = [float(sympy.diff(u, s).subs(at)) for s in symbols]
        assert np.allclose(jump, float(quotient.subs(at)) * grad_u, atol=1e-7 * np.abs(jump).max())

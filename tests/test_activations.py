"""A new activation is one class: the network, routing, the attack and the algebra run on
it without another line changed anywhere."""

import itertools
from dataclasses import dataclass

import numpy as np
import pytest
import sympy

import lossrecon as lr
from lossrecon import symbolic
from lossrecon.activations import Activation, Boundary, array_namespace, make_activation
from lossrecon.attacks.chosen.hat.router import Router
from lossrecon.errors import ConfigurationError


@dataclass(frozen=True)
class TwoSlope(Activation):
    """1.5 z above zero, -0.25 z below: defined nowhere in the package."""

    name = "two_slope"

    def apply(self, z):
        xp = array_namespace(z)
        return xp.where(z > 0, 1.5 * z, -0.25 * z)

    def pattern(self, z):
        return z > 0

    def states(self, width):
        return list(itertools.product((1, 0), repeat=width))

    def gate(self, z, states):
        return [
            sympy.Rational(3, 2) * zj if s else -zj / 4 for zj, s in zip(z, states, strict=True)
        ]

    def boundaries(self, z, states, unit):
        flipped = tuple(1 - s if j == unit else s for j, s in enumerate(states))
        return [Boundary(z[unit], 1 if states[unit] else -1, flipped)]

    def carries_signal(self, states):
        return list(range(len(states)))


def test_the_network_runs_it():
    net = lr.ReLUNetwork([3, 4, 2], activation=TwoSlope(), bias=True)
    rng = np.random.default_rng(0)
    w, x = net.random_weights(random_state=1), rng.normal(size=(5, 3))
    (m1, b1), (m2, b2) = net.unflatten(w)
    z = x @ m1.T + b1
    expected = np.where(z > 0, 1.5 * z, -0.25 * z) @ m2.T + b2
    np.testing.assert_allclose(net.forward(w, x), expected, rtol=1e-12)


def test_routing_finds_what_a_path_does_and_the_attack_recovers_every_sample():
    net = lr.ReLUNetwork([4, 5, 4, 2], activation=TwoSlope())
    router = Router(net, 3)
    # Two layers: phi(s) = 2.25 s above 0; below, -0.25 s > 0 then 1.5 times that.
    assert (router.gain, router.slope) == (2.25 + 0.375, -0.375)
    data = lr.synthetic(15, 4, 2, random_state=3)
    oracle = lr.NumpyLossOracle(net, data.inputs, data.targets)
    rec = lr.attacks.chosen_weights(oracle, net)
    report = lr.evaluate(rec, data.inputs, data.targets)
    assert report["recall"] == 1.0 and report["precision"] == 1.0


def test_the_algebra_runs_it():
    polys = symbolic.virtual_polynomials([2, 2, 1], node=(1, 3), activation=TwoSlope())
    w = symbolic.weight_symbols([2, 2, 1])
    x1, x2 = symbolic.input_symbols(2)
    h1, h2 = w[0] * x1 + w[2] * x2, w[1] * x1 + w[3] * x2
    slopes = (sympy.Rational(3, 2), -sympy.Rational(1, 4))
    expected = {sympy.expand(s1 * w[4] * h1 + s2 * w[5] * h2) for s1 in slopes for s2 in slopes}
    assert set(polys) == expected
    components = symbolic.sing_components([2, 2, 1], activation=TwoSlope())
    assert {c.kind for c in components if c.linear} == {"sample"}


def test_a_smooth_activation_is_refused_where_kinks_are_needed():
    net = lr.ReLUNetwork([3, 4, 1], activation="softplus", temperature=0.5)
    with pytest.raises(ConfigurationError, match="piecewise-linear"):
        Router(net, 3)
    with pytest.raises(ConfigurationError, match="smooth"):
        symbolic.virtual_polynomials([2, 2, 1], node=(1, 3), activation=make_activation("softplus"))


@pytest.mark.parametrize("name", lr.activations.activation_names())
def test_exact_gates_ask_the_activation_whether_it_rectifies_not_its_class(name):
    """Only an activation whose units output exactly 0 below zero and their input above
    can gate; the gates ask the activation, as every other part of the package does."""
    from lossrecon.attacks.chosen.router import gates_fit

    activation = make_activation(name)
    assert activation.rectifies == (name == "relu")
    reason = gates_fit(lr.ReLUNetwork([4, 6, 4, 2], activation=activation, bias=True))
    assert (reason is None) == activation.rectifies
    assert TwoSlope().rectifies is False

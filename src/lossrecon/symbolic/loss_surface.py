"""The loss surface as a semi-algebraic set (Thm 2.1, 2.4) and its nonsmooth locus Sing(X).

- :func:`loss_piece`: at a weight vector, the region it lies in (sign conditions on
  virtual polynomials, one activation set per sample) and the polynomial E there.
- :func:`sing_defining_polynomials`: the boundary polynomials across which a sample's
  output polynomial changes, so that E bends there (Thm 2.4); a boundary across which
  nothing changes (no live path downstream) is not part of Sing(X).
- :func:`sing_components`: their irreducible components, with which ones are free of
  the sample (Prop. 2.9) and which are linear (Cor. 2.10).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import sympy

from lossrecon.activations import Activation, make_activation
from lossrecon.network import ReLUNetwork
from lossrecon.symbolic.activation_sets import ActivationSet, all_activation_sets, from_patterns
from lossrecon.symbolic.degree import monomial_degrees
from lossrecon.symbolic.factorization import Backend, canonical, factor
from lossrecon.symbolic.symbols import input_symbols
from lossrecon.symbolic.virtual import Node, layer_pre_activations

__all__ = [
    "LossPiece",
    "SingComponent",
    "SingPolynomial",
    "exact",
    "loss_piece",
    "output_polynomials",
    "sing_components",
    "sing_defining_polynomials",
]


def exact(values: np.ndarray) -> list[sympy.Rational]:
    """Floats as exact rationals (every float64 is one), for exact symbolic work."""
    return [sympy.Rational(float(v)) for v in np.ravel(values)]


def output_polynomials(
    widths: Sequence[int],
    activation_set: ActivationSet,
    inputs: Sequence[sympy.Expr] | None = None,
    activation: str | Activation = "relu",
) -> sympy.Matrix:
    """The network output F_w(a) as polynomials in w, for a fixed activation set."""
    return layer_pre_activations(widths, activation_set, len(widths), inputs, activation)


@dataclass(frozen=True)
class LossPiece:
    """One smooth piece of the loss surface: E = ``loss`` where every condition holds.

    ``conditions`` are polynomials required to be positive (for each sample and hidden
    node, the node's boundary polynomials oriented to its state).
    """

    activation_sets: tuple[ActivationSet, ...]
    conditions: tuple[sympy.Expr, ...]
    loss: sympy.Expr


def loss_piece(
    net: ReLUNetwork,
    inputs: np.ndarray,
    targets: np.ndarray,
    w: np.ndarray,
    regularizer: sympy.Expr | None = None,
) -> LossPiece:
    """The piece of the loss surface that contains the bias-free weight vector w.

    inputs (M, n), targets (M, d_out), w (N,); the loss is the paper's half sum of
    squares, plus the smooth ``regularizer`` (an expression in the weight symbols).
    """
    patterns = net.activation_patterns(w, inputs)
    targets = np.asarray(targets, dtype=float).reshape(len(inputs), -1)
    sets = []
    conditions: list[sympy.Expr] = []
    loss = sympy.Integer(0) if regularizer is None else sympy.expand(regularizer)
    for p, (a, b) in enumerate(zip(inputs, targets, strict=True)):
        aset = from_patterns(patterns, p)
        sample = exact(a)
        sets.append(aset)
        for k in range(2, len(net.widths)):
            for i in range(1, net.widths[k - 1] + 1):
                conditions += _oriented_boundaries(net, (i, k), aset, sample)
        residual = sympy.Matrix(exact(b)) - output_polynomials(
            net.widths, aset, sample, net.activation
        )
        loss += sympy.expand(sum(r**2 for r in residual) / 2)
    return LossPiece(tuple(sets), tuple(dict.fromkeys(conditions)), sympy.expand(loss))


def _oriented_boundaries(
    net: ReLUNetwork, node: Node, aset: ActivationSet, sample: list[sympy.Rational]
) -> list[sympy.Expr]:
    """The boundaries of ``node``, each signed to be positive on the sample's side."""
    i, k = node
    z = layer_pre_activations(net.widths, aset, k, sample, net.activation)
    found = net.activation.boundaries(list(z), aset.states[k - 2], i - 1)
    return [b.sign * b.polynomial for b in found if b.polynomial != 0]


@dataclass(frozen=True)
class SingPolynomial:
    """A defining polynomial of Sing(X): the boundary of ``node`` for one sample under P."""

    node: Node
    activation_set: ActivationSet
    polynomial: sympy.Expr


def _realizable(aset: ActivationSet, act: Activation) -> bool:
    """Whether a nonzero sample and some bias-free weights give this activation set.

    After a layer that outputs exactly zero (every ReLU negative), every later
    pre-activation is 0, so no later unit can carry signal.
    """
    dead = False
    for layer in aset.states:
        if dead and act.carries_signal(layer):
            return False
        dead = dead or act.kills_layer(layer)
    return True


def _with_layer(aset: ActivationSet, k: int, states: tuple[int, ...]) -> ActivationSet:
    """``aset`` with hidden layer ``k`` (1-based) in ``states``."""
    layers = list(aset.states)
    layers[k - 2] = states
    return ActivationSet(tuple(layers))


def sing_defining_polynomials(
    widths: Sequence[int],
    inputs: Sequence[sympy.Expr] | None = None,
    activation: str | Activation = "relu",
) -> list[SingPolynomial]:
    """Defining polynomials of Sing(X) contributed by one sample (symbolic x by default).

    A boundary polynomial b of hidden node (i, k) under a realisable activation set P is
    kept when the output polynomial differs on the other side of b = 0: only then does
    the loss bend there. Sing(X) of a training set is the union over its samples.
    """
    act = make_activation(activation)
    outputs: dict[ActivationSet, sympy.Matrix] = {}

    def output(aset: ActivationSet) -> sympy.Matrix:
        if aset not in outputs:
            outputs[aset] = output_polynomials(widths, aset, inputs, act)
        return outputs[aset]

    found: dict[sympy.Expr, SingPolynomial] = {}
    for aset in all_activation_sets(widths, activation=act):
        if not _realizable(aset, act):
            continue
        for k in range(2, len(widths)):
            for i in range(1, widths[k - 1] + 1):
                z = layer_pre_activations(widths, aset, k, inputs, act)
                for boundary in act.boundaries(list(z), aset.states[k - 2], i - 1):
                    b = boundary.polynomial
                    other = _with_layer(aset, k, boundary.flipped)
                    if b == 0 or not _realizable(other, act) or output(other) == output(aset):
                        continue
                    found.setdefault(canonical(b), SingPolynomial((i, k), aset, b))
    return list(found.values())


@dataclass(frozen=True)
class SingComponent:
    """An irreducible component of Sing(X)'s defining polynomials.

    ``sample_free``: contains no input variable (Prop. 2.9). ``linear``: degree 1 in
    the weights. ``kind`` for linear ones (Cor. 2.10): "weight" (a single weight
    variable), "sample" (a second-layer virtual polynomial: its coefficients are the
    input), or "other" (which Cor. 2.10 says never happens).
    """

    polynomial: sympy.Expr
    sample_free: bool
    linear: bool
    kind: str | None


def _linear_kind(poly: sympy.Expr, widths: Sequence[int], pieces: int) -> str:
    degrees = monomial_degrees(poly, widths, pieces)
    if len(sympy.Add.make_args(poly)) == 1 and len(poly.free_symbols) == 1:
        return "weight"
    if degrees == {(1,) + (0,) * (len(widths) - 2)}:
        return "sample"
    return "other"


def sing_components(
    widths: Sequence[int],
    activation: str | Activation = "relu",
    backend: Backend = "flint",
) -> list[SingComponent]:
    """The distinct irreducible components of Sing(X) for a generic sample x1..xn.

    Factors free of weights (such as x1 when n = 1) are constants on weight space and
    are left out.
    """
    act = make_activation(activation)
    x = set(input_symbols(widths[0]))
    components: dict[sympy.Expr, SingComponent] = {}
    for entry in sing_defining_polynomials(widths, activation=act):
        for f, _ in factor(entry.polynomial, backend).factors:
            key = canonical(f)
            degrees = monomial_degrees(key, widths, act.pieces)
            if key in components or degrees == {(0,) * (len(widths) - 1)}:
                continue
            linear = all(sum(d) == 1 for d in degrees)
            components[key] = SingComponent(
                key,
                sample_free=not (key.free_symbols & x),
                linear=linear,
                kind=_linear_kind(key, widths, act.pieces) if linear else None,
            )
    return list(components.values())

"""Irreducible factorization of virtual polynomials and the P-active network (Thm 2.8).

``factor`` computes the factorization with sympy or with FLINT (python-flint), which is
much faster. ``p_active_network`` and ``predicted_factors`` make Theorem 2.8's statement
executable: cut the P-active network at every layer holding a single node; the value of
each stretch between consecutive cuts is a factor. ``check_theorem_2_8`` compares the two.

Reading of the theorem made explicit here (the paper is silent on it): input nodes
count as P-active nodes (all of them for symbolic inputs, the nonzero ones for a
numeric sample), and the input layer counts among the layers that may hold a single
node. With one symbolic input x1, x1 then splits off as a factor of its own, which is
what the computed factorization shows; constant stretches (a numeric single input) are
not factors.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import flint
import sympy

from lossrecon.activations import Activation, make_activation
from lossrecon.errors import ConfigurationError
from lossrecon.symbolic.activation_sets import ActivationSet
from lossrecon.symbolic.symbols import input_symbols, layer_symbol_matrices
from lossrecon.symbolic.virtual import Node, gated, virtual_polynomial

__all__ = [
    "Factorization",
    "FactorizationCheck",
    "canonical",
    "check_theorem_2_8",
    "factor",
    "p_active_network",
    "predicted_factors",
]

Backend = Literal["flint", "sympy"]


@dataclass(frozen=True)
class Factorization:
    """poly = constant * prod(f ** m for f, m in factors), factors irreducible."""

    constant: sympy.Expr
    factors: tuple[tuple[sympy.Expr, int], ...]

    def expand(self) -> sympy.Expr:
        product = self.constant
        for f, m in self.factors:
            product *= f**m
        return sympy.expand(product)


def _gens(poly: sympy.Expr) -> list[sympy.Symbol]:
    return sorted(poly.free_symbols, key=lambda s: (s.name[0], int(s.name[1:] or 0)))


def _factor_flint(poly: sympy.Expr, gens: list[sympy.Symbol]) -> Factorization:
    ctx = flint.fmpq_mpoly_ctx.get(tuple(f"v{i}" for i in range(len(gens))), "lex")
    terms = sympy.Poly(poly, *gens).terms()
    as_flint = ctx.from_dict(
        {monom: flint.fmpq(int(c.p), int(c.q)) for monom, c in terms if _is_rational(c)}
    )
    if len(terms) != len(as_flint.to_dict()):
        raise ConfigurationError("FLINT factorization needs rational coefficients; use sympy")
    constant, factors = as_flint.factor()
    return Factorization(
        sympy.Rational(int(constant.p), int(constant.q)),
        tuple((_from_flint(f, gens), int(m)) for f, m in factors),
    )


def _is_rational(c: sympy.Expr) -> bool:
    return bool(c.is_Rational)


def _from_flint(f: flint.fmpq_mpoly, gens: list[sympy.Symbol]) -> sympy.Expr:
    total = sympy.Integer(0)
    for monom, c in f.to_dict().items():
        term = sympy.Rational(int(c.p), int(c.q))
        for symbol, power in zip(gens, monom, strict=True):
            term *= symbol**power
        total += term
    return total


def factor(poly: sympy.Expr, backend: Backend = "flint") -> Factorization:
    """Irreducible factorization over Q; the zero polynomial has none and raises."""
    expr = sympy.expand(poly)
    if expr == 0:
        raise ConfigurationError("the zero polynomial has no factorization")
    gens = _gens(expr)
    if not gens:
        return Factorization(expr, ())
    if backend == "flint" and all(_is_rational(c) for c in sympy.Poly(expr, *gens).coeffs()):
        return _factor_flint(expr, gens)
    if backend not in ("flint", "sympy"):
        raise ConfigurationError(f"unknown backend {backend!r}; choose 'flint' or 'sympy'")
    constant, factors = sympy.factor_list(expr, *gens)
    return Factorization(constant, tuple((f, int(m)) for f, m in factors))


def canonical(poly: sympy.Expr) -> sympy.Expr:
    """poly divided by its leading coefficient: equal for polynomials equal up to a constant."""
    expr = sympy.expand(poly)
    gens = _gens(expr)
    if not gens:
        return sympy.Integer(1) if expr != 0 else sympy.Integer(0)
    p = sympy.Poly(expr, *gens)
    return sympy.expand(p.as_expr() / p.LC())


def p_active_network(
    widths: Sequence[int],
    activation_set: ActivationSet,
    node: Node,
    inputs: Sequence[sympy.Expr] | None = None,
    activation: str | Activation = "relu",
) -> list[list[int]]:
    """The P-active network of node (i, k) (Def. 2.7): its 1-based nodes, layer by layer.

    Layer 1 holds the inputs (all for symbolic inputs, the nonzero ones of a sample),
    layers 2..k-1 the nodes P makes carry signal (ReLU and LWTA: active or winning;
    every node for leaky ReLU and maxout), layer k the node i alone. A layer with no
    node means the virtual polynomial is 0.
    """
    act = make_activation(activation)
    values = input_symbols(widths[0]) if inputs is None else list(inputs)
    layers = [[j + 1 for j, v in enumerate(values) if v != 0]]
    for layer_no in range(2, node[1]):
        layers.append([j + 1 for j in act.carries_signal(activation_set.states[layer_no - 2])])
    layers.append([node[0]])
    return layers


def predicted_factors(
    widths: Sequence[int],
    activation_set: ActivationSet,
    node: Node,
    inputs: Sequence[sympy.Expr] | None = None,
    activation: str | Activation = "relu",
) -> list[sympy.Expr]:
    """Theorem 2.8's factors: the value of each stretch between single-node layers.

    Empty when the virtual polynomial is 0. Constant stretches are left out.
    """
    act = make_activation(activation)
    network = p_active_network(widths, activation_set, node, inputs, act)
    if any(not layer for layer in network):
        return []
    matrices = layer_symbol_matrices(widths, act.pieces)
    x = sympy.Matrix(input_symbols(widths[0]) if inputs is None else list(inputs))
    factors = []
    for layer_no in range(1, node[1]):
        if layer_no > 1:
            x = gated(matrices[layer_no - 2] * x, activation_set.states[layer_no - 2], act)
        if len(network[layer_no - 1]) == 1:
            j = network[layer_no - 1][0] - 1
            factors.append(sympy.expand(x[j]))
            x = sympy.Matrix([int(r == j) for r in range(len(x))])
    row = node[0] - 1
    if node[1] < len(widths) and act.pieces > 1:
        raise ConfigurationError(f"factor predictions for {act} hidden nodes need a piece")
    factors.append(sympy.expand((matrices[node[1] - 2] * x)[row]))
    return [f for f in factors if f.free_symbols]


@dataclass(frozen=True)
class FactorizationCheck:
    """Theorem 2.8's prediction beside the computed factorization of one virtual polynomial."""

    polynomial: sympy.Expr
    predicted: tuple[sympy.Expr, ...]
    computed: Factorization | None

    @property
    def agrees(self) -> bool:
        """Same irreducible factors up to constants, each once."""
        if self.computed is None:
            return not self.predicted
        computed = sorted(
            (sympy.srepr(canonical(f)) for f, m in self.computed.factors for _ in range(m))
        )
        return computed == sorted(sympy.srepr(canonical(f)) for f in self.predicted)


def check_theorem_2_8(
    widths: Sequence[int],
    activation_set: ActivationSet,
    node: Node,
    inputs: Sequence[sympy.Expr] | None = None,
    activation: str | Activation = "relu",
    backend: Backend = "flint",
) -> FactorizationCheck:
    """Compute a virtual polynomial's factorization and Theorem 2.8's prediction for it."""
    poly = virtual_polynomial(widths, node, activation_set, inputs, activation)
    computed = None if poly == 0 else factor(poly, backend)
    predicted = predicted_factors(widths, activation_set, node, inputs, activation)
    return FactorizationCheck(poly, tuple(predicted), computed)

"""The introduction's example: h(a) = sum_i max(0, y_i - a x_i)^2.

h is a piecewise quadratic with kinks at a = y_i / x_i. The paper reads the samples
off the kinks "up to scalar multiplication"; the jumps of h'' say more: at a kink h''
jumps by -2 x^2 (x > 0, active to the left) or +2 x^2 (x < 0, active to the right),
so h gives every (x_i, y_i) exactly, whenever no two samples share a kink. h is C^1
everywhere: only h'' jumps, so "nonsmooth" means "not twice differentiable" here.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import sympy

from lossrecon.errors import ConfigurationError

__all__ = ["Piece1D", "kinks", "recover_samples", "relu_least_squares"]

a = sympy.Symbol("a", real=True)


@dataclass(frozen=True)
class Piece1D:
    """h = ``poly`` (a polynomial in the symbol a) on the interval (lower, upper)."""

    lower: sympy.Expr
    upper: sympy.Expr
    poly: sympy.Expr


def kinks(xs: Sequence[sympy.Expr], ys: Sequence[sympy.Expr]) -> list[sympy.Expr]:
    """Sorted distinct kink positions y_i / x_i (samples with x_i = 0 have none)."""
    return sorted(
        {sympy.nsimplify(y) / sympy.nsimplify(x) for x, y in zip(xs, ys, strict=True) if x != 0}
    )


def relu_least_squares(xs: Sequence[sympy.Expr], ys: Sequence[sympy.Expr]) -> list[Piece1D]:
    """The pieces of h, left to right, with exact (rational) arithmetic."""
    xs = [sympy.nsimplify(x) for x in xs]
    ys = [sympy.nsimplify(y) for y in ys]
    bounds = [-sympy.oo, *kinks(xs, ys), sympy.oo]
    pieces = []
    for lower, upper in itertools.pairwise(bounds):
        if lower == -sympy.oo:
            probe = upper - 1 if upper != sympy.oo else sympy.Integer(0)
        else:
            probe = lower + 1 if upper == sympy.oo else (lower + upper) / 2
        poly = sum(
            ((y - a * x) ** 2 for x, y in zip(xs, ys, strict=True) if y - probe * x > 0),
            sympy.Integer(0),
        )
        pieces.append(Piece1D(lower, upper, sympy.expand(poly)))
    return pieces


def recover_samples(pieces: Sequence[Piece1D]) -> list[tuple[sympy.Expr, sympy.Expr]]:
    """Read (x_i, y_i) back from h's pieces, exactly, through the jumps of h''.

    A kink shared by several samples gives one merged sample (x^2 adds up); samples with
    x_i = 0 leave no kink and are not recovered.
    """
    samples = []
    for left, right in itertools.pairwise(pieces):
        if left.upper != right.lower:
            raise ConfigurationError("pieces must be consecutive")
        jump = sympy.diff(right.poly, a, 2) - sympy.diff(left.poly, a, 2)
        if jump == 0:
            continue
        x = -sympy.sign(jump) * sympy.sqrt(sympy.Abs(jump) / 2)
        samples.append((x, left.upper * x))
    return samples

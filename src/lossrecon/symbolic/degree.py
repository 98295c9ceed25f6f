"""Layer-wise multidegree (Def. 2.5) and homogeneity (Thm 2.6).

A weight of layer k (from layer k to layer k+1) has degree e_k in Z^{L-1}; input
variables and numbers have degree 0.
"""

from __future__ import annotations

from collections.abc import Sequence

import sympy

from lossrecon.errors import ConfigurationError
from lossrecon.symbolic.symbols import layer_symbol_matrices

__all__ = ["expected_degree", "is_homogeneous", "layerwise_degree", "monomial_degrees"]


def _layer_of(widths: Sequence[int], pieces: int) -> dict[sympy.Symbol, int]:
    return {s: k for k, matrix in enumerate(layer_symbol_matrices(widths, pieces)) for s in matrix}


def monomial_degrees(
    poly: sympy.Expr, widths: Sequence[int], pieces: int = 1
) -> set[tuple[int, ...]]:
    """The set of layer-wise degrees of the monomials of ``poly`` (empty for 0)."""
    layer_of = _layer_of(widths, pieces)
    weights = sorted(layer_of, key=lambda s: int(s.name[1:]))
    expr = sympy.expand(poly)
    if expr == 0:
        return set()
    degrees = set()
    for monomial in sympy.Poly(expr, *weights).monoms():
        degree = [0] * (len(widths) - 1)
        for symbol, power in zip(weights, monomial, strict=True):
            degree[layer_of[symbol]] += power
        degrees.add(tuple(degree))
    return degrees


def is_homogeneous(poly: sympy.Expr, widths: Sequence[int], pieces: int = 1) -> bool:
    """Whether every monomial has the same layer-wise degree (0 counts as homogeneous)."""
    return len(monomial_degrees(poly, widths, pieces)) <= 1


def layerwise_degree(poly: sympy.Expr, widths: Sequence[int], pieces: int = 1) -> tuple[int, ...]:
    """deg(f) of a nonzero homogeneous polynomial; raises for 0 or an inhomogeneous one."""
    degrees = monomial_degrees(poly, widths, pieces)
    if len(degrees) != 1:
        what = "the zero polynomial" if not degrees else f"degrees {sorted(degrees)}"
        raise ConfigurationError(f"no layer-wise degree: {what}")
    return degrees.pop()


def expected_degree(widths: Sequence[int], layer: int) -> tuple[int, ...]:
    """Thm 2.6's degree of a virtual polynomial of type (i, layer): 1 on layers < layer.

    The paper writes "1 from the first entry to the k-th entry"; a node of layer k is
    reached through k - 1 weight layers, so the ones stop at entry k - 1 (Figure 2's
    type-(1,3) polynomials have degree (1, 1), two entries).
    """
    n_layers = len(widths) - 1
    return tuple(int(layer_no < layer - 1) for layer_no in range(n_layers))

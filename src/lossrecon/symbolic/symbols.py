"""The paper's variables: weights ω1..ωN and inputs x1..xn, and their link to w in R^N.

The paper numbers weights layer by layer, source node outer and target node inner, so
that Figure 2 (widths 2-2-1) reads ω1: x1→h1, ω2: x1→h2, ω3: x2→h1, ω4: x2→h2,
ω5: h1→out, ω6: h2→out. The numeric weight vector uses PyTorch's row-major (target
outer) order instead; :func:`paper_to_flat` links the two.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import sympy

from lossrecon.layout import Layout
from lossrecon.network import ReLUNetwork

__all__ = [
    "input_symbols",
    "layer_symbol_matrices",
    "paper_to_flat",
    "weight_symbols",
    "weights_as_substitution",
]


def _layer_shapes(widths: Sequence[int], pieces: int = 1) -> list[tuple[int, int]]:
    return Layout(tuple(widths), pieces).shapes


def weight_symbols(widths: Sequence[int], pieces: int = 1) -> list[sympy.Symbol]:
    """ω1..ωN in the paper's order (layer by layer, source outer, target inner).

    ``pieces`` > 1 is for maxout: a hidden layer then has ``width * pieces`` rows.
    """
    n = sum(rows * cols for rows, cols in _layer_shapes(widths, pieces))
    return list(sympy.symbols(f"ω1:{n + 1}", real=True))


def input_symbols(n: int) -> list[sympy.Symbol]:
    """x1..xn."""
    return list(sympy.symbols(f"x1:{n + 1}", real=True))


def layer_symbol_matrices(widths: Sequence[int], pieces: int = 1) -> list[sympy.Matrix]:
    """The weight matrices W_k (shape (out, in)) filled with the paper's symbols."""
    symbols = iter(weight_symbols(widths, pieces))
    matrices = []
    for rows, cols in _layer_shapes(widths, pieces):
        entries = [[None] * cols for _ in range(rows)]
        for source in range(cols):
            for target in range(rows):
                entries[target][source] = next(symbols)
        matrices.append(sympy.Matrix(entries))
    return matrices


def paper_to_flat(widths: Sequence[int], pieces: int = 1) -> np.ndarray:
    """Index map: ω_{m+1} is entry ``paper_to_flat(widths)[m]`` of a bias-free w in R^N."""
    order = []
    start = 0
    for rows, cols in _layer_shapes(widths, pieces):
        for source in range(cols):
            for target in range(rows):
                order.append(start + target * cols + source)
        start += rows * cols
    return np.array(order, dtype=int)


def weights_as_substitution(net: ReLUNetwork, w: np.ndarray) -> dict[sympy.Symbol, float]:
    """{ω_m: value} for a numeric bias-free weight vector w of shape (N,)."""
    symbols = weight_symbols(net.widths, net.activation.pieces)
    order = paper_to_flat(net.widths, net.activation.pieces)
    return {s: float(w[i]) for s, i in zip(symbols, order, strict=True)}

"""Several quantized numbers in one answer: base-L packing and its decoding.

A coordinate of quantized data carries log2(L) bits (L grid levels: 17 for scikit-learn's
digits, 256 for 8-bit images), while one answer carries about as many bits as its
format's mantissa (53 in float64, 24 in float32). So one gated reading can carry P
coordinates at once: with q_j the grid index of coordinate k_j (a_{k_j} = step q_j) and
digits d_j = q_j − low in [0, L),

    u = 1 + Σ_j L^j d_j = γ + Σ_j (L^j / step) a_{k_j},   γ = 1 − Σ_j L^j low,

is an integer plus one, decoded digit by digit, as long as the error of u stays under a
quarter. A value off the grid decodes to a non-integer, a top digit past the levels the
first samples showed decodes out of range: the caller reads those again unpacked. A
lower digit past them carries into the next one and still decodes; the sample's own
check (its norm query) catches that, and the caller reads the sample again unpacked. So
a wrong grid costs queries, never a wrong sample.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lossrecon.grid import detect_grid, on_grid

__all__ = ["PackGrid", "decode", "mantissa_bits", "pack_grid", "per_query", "weights"]

_SLACK = 0.25  # an answer this far from an integer (or less) decodes
_MARGIN = 1  # levels added above the highest the first samples showed


@dataclass(frozen=True)
class PackGrid:
    """Values step * q with integer q in [low, high]."""

    step: float
    low: int
    high: int

    @property
    def levels(self) -> int:
        return self.high - self.low + 1

    @property
    def bits(self) -> float:
        """The bits a value on this grid carries."""
        return float(np.log2(self.levels))


def pack_grid(values: np.ndarray, bounds: np.ndarray) -> PackGrid | None:
    """The grid the first samples' values (with their error bounds) lie on, from 0 or
    below to a level above the highest seen; None when they lie on none."""
    step = detect_grid(values, bounds)
    if step is None:
        return None
    q = np.round(np.asarray(values)[np.isfinite(values)] / step)
    return PackGrid(step, int(min(q.min(), 0)), int(q.max()) + _MARGIN)


def per_query(levels: int, relative_error: float, most: int) -> int:
    """How many values of ``levels`` levels one answer holds when u's relative error is
    ``relative_error`` (L^P of them must stay a quarter of an integer apart), at most
    ``most``."""
    if levels < 2 or relative_error <= 0:
        return 1
    fits = int(np.floor(np.log(_SLACK / relative_error) / np.log(levels)))
    return max(1, min(most, fits))


def weights(grid: PackGrid, count: int) -> tuple[np.ndarray, float]:
    """The weights (count,) on the coordinates (their positive parts; minus on their
    negative parts) and γ, for u = 1 + Σ_j L^j (q_j − low)."""
    powers = float(grid.levels) ** np.arange(count)
    return powers / grid.step, float(1.0 - np.sum(powers) * grid.low)


def decode(u: np.ndarray, du: np.ndarray, grid: PackGrid, count: int) -> tuple[np.ndarray, ...]:
    """The values (K, count) packed in u (K,) with error bounds du, and which decoded:
    u − 1 within a quarter of an integer, its bound under a quarter, every digit in range."""
    v = np.asarray(u, dtype=float) - 1.0
    whole = np.round(v)
    ok = (np.abs(v - whole) <= _SLACK) & (du < _SLACK) & (whole >= 0)
    ok &= whole < float(grid.levels) ** count
    digits = np.zeros((len(v), count))
    rest = np.where(ok, whole, 0.0)
    for j in range(count):
        rest, digits[:, j] = np.divmod(rest, grid.levels)
    return on_grid(digits + grid.low, grid.step), ok


def mantissa_bits(dtype: str) -> int:
    """The significand bits of a format: what one answer carries at most."""
    return {"float64": 53, "float32": 24, "float16": 11, "bfloat16": 8}[dtype]

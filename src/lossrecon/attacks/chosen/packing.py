"""Several quantized numbers in one answer: base-L packing and its decoding.

A coordinate of quantized data carries log2(L) bits (L grid levels: 17 for scikit-learn's
digits, 256 for 8-bit images), while one answer carries about as many bits as its
format's mantissa (53 in float64, 24 in float32). So one gated reading can carry P
coordinates at once: with q_j the grid index of coordinate k_j (a_{k_j} = step q_j) and
digits d_j = q_j − low in [0, L),

    u = 1 + Σ_j L^j d_j = γ + Σ_j (L^j / step) a_{k_j},   γ = 1 − Σ_j L^j low,

is an integer plus one, decoded digit by digit, as long as the error of u stays under a
quarter. Standardized data lie on an affine grid per feature, a_k = offset_k + step_k q:
then γ = 1 − Σ_j L^j (low + offset_{k_j} / step_{k_j}) and the weights L^j / step_{k_j}.

A value off the grid decodes to a non-integer, a top digit past the levels the first
samples showed decodes out of range: the caller reads those again unpacked. A
lower digit past them carries into the next one and still decodes; the sample's own
check (its norm query) catches that, and the caller reads the sample again unpacked. So
a wrong grid costs queries, never a wrong sample.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from lossrecon.grid import detect_feature_grids, detect_grid, on_grid
from lossrecon.precision import FORMATS

__all__ = [
    "PackGrid",
    "bits_limit",
    "decode",
    "pack_grid",
    "per_query",
    "weights",
    "widened",
]

_SLACK = 0.25  # an answer this far from an integer (or less) decodes
_MARGIN = 1  # levels added above the highest the first samples showed (and below, per feature)


@dataclass(frozen=True)
class PackGrid:
    """Values offset + step q with integer q in [low, high]: one step for every
    coordinate (offset 0), or, per feature, arrays of steps and offsets (n,) and the
    error (n,) their fit leaves in a value."""

    step: float | np.ndarray
    low: int
    high: int
    offset: float | np.ndarray = 0.0
    error: float | np.ndarray = 0.0

    @property
    def per_feature(self) -> bool:
        return bool(np.ndim(self.step))

    @property
    def levels(self) -> int:
        return self.high - self.low + 1

    @property
    def bits(self) -> float:
        """The bits a value on this grid carries."""
        return float(np.log2(self.levels))

    def at(self, coordinates: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The steps and offsets of ``coordinates`` (P,)."""
        p = len(coordinates)
        if not self.per_feature:
            return np.full(p, float(self.step)), np.zeros(p)
        return np.asarray(self.step)[coordinates], np.asarray(self.offset)[coordinates]

    def values(self, index: np.ndarray, coordinates: np.ndarray) -> np.ndarray:
        """The grid values (K, P) of integer levels ``index`` (K, P) of ``coordinates``;
        k / q exactly where the grid is one step 1/q."""
        if not self.per_feature:
            return on_grid(index, float(self.step))
        step, offset = self.at(coordinates)
        return offset + index * step

    def snapped(self, inputs: np.ndarray, errors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Inputs (K, n) on the grid where their bounds make the grid value certain (under
        a quarter step, within twice the bound of it), with the grid's own error there;
        the rest as they are. The check a packed sample must pass on the grid: a digit
        carried into its neighbour moves a value by whole steps, which the sample's
        unpacked coordinates' wider bounds can hide and the grid cannot."""
        everything = np.arange(inputs.shape[1])
        step, offset = self.at(everything)
        index = np.round((inputs - offset) / step)
        values = self.values(index, everything)
        own = np.broadcast_to(
            np.asarray(self.error)[everything] if self.per_feature else 0.0, inputs.shape[1:]
        )
        sure = (errors < 0.25 * step) & (
            np.abs(values - inputs) <= np.maximum(2.0 * errors, 1e-3 * step)
        )
        return np.where(sure, values, inputs), np.where(sure, own, errors)

    def describe(self) -> dict[str, object]:
        """A per-feature grid as JSON: its steps, offsets and levels."""
        return {
            "steps": np.asarray(self.step).tolist(),
            "offsets": np.asarray(self.offset).tolist(),
            "low": self.low,
            "high": self.high,
        }


def pack_grid(values: np.ndarray, bounds: np.ndarray, per_feature: bool = False) -> PackGrid | None:
    """The grid the first samples' values (S, n) (with their error bounds) lie on, from 0
    or below to a level above the highest seen; with ``per_feature``, where no common
    grid fits, an affine grid per feature (its levels from a level below the lowest seen
    to one above the highest). None when they lie on none."""
    x = np.asarray(values, dtype=float)
    step = detect_grid(x, bounds)
    if step is not None:
        q = np.round(x[np.isfinite(x)] / step)
        return PackGrid(step, int(min(q.min(), 0)), int(q.max()) + _MARGIN)
    fitted = detect_feature_grids(x, bounds) if per_feature else None
    if fitted is None:
        return None
    steps, offsets = fitted
    q = np.round((x - offsets) / steps)
    # The fit's error in a value: its offset's and its step's over the levels seen.
    spread = 2.0 * np.max(np.broadcast_to(bounds, x.shape), axis=0)
    error = spread * (1.0 + (q.max(0) + _MARGIN) / np.maximum(q.max(0) - q.min(0), 1.0))
    return PackGrid(
        steps, int(q.min()) - _MARGIN, int(q.max()) + _MARGIN, offset=offsets, error=error
    )


def per_query(levels: int, relative_error: float, most: int) -> int:
    """How many values of ``levels`` levels one answer holds when u's relative error is
    ``relative_error`` (L^P of them must stay a quarter of an integer apart), at most
    ``most``."""
    if levels < 2 or relative_error <= 0:
        return 1
    fits = int(np.floor(np.log(_SLACK / relative_error) / np.log(levels)))
    return max(1, min(most, fits))


def widened(grid: PackGrid, count: int, relative_error: float) -> PackGrid:
    """``grid`` with up to twice its levels, as many as ``count`` values a query still
    hold at half the room (L^count relative errors of ``relative_error`` under half a
    quarter): the extra ones above it, half of them below where it reaches below 0. A
    value a little past what the first samples showed then still decodes instead of
    being read again."""
    if relative_error <= 0:
        return grid
    fits = int(np.floor((_SLACK / (2.0 * relative_error)) ** (1.0 / count)))
    extra = min(grid.levels, max(0, fits - grid.levels))
    below = extra // 2 if grid.low < 0 else 0
    return replace(grid, low=grid.low - below, high=grid.high + extra - below)


def weights(grid: PackGrid, coordinates: np.ndarray) -> tuple[np.ndarray, float]:
    """The weights (P,) on ``coordinates`` (P,) (their positive parts; minus on their
    negative parts) and γ, for u = 1 + Σ_j L^j (q_j − low)."""
    step, offset = grid.at(coordinates)
    powers = float(grid.levels) ** np.arange(len(coordinates))
    return powers / step, float(1.0 - np.sum(powers * (grid.low + offset / step)))


def decode(
    u: np.ndarray, du: np.ndarray, grid: PackGrid, coordinates: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The values (K, P) of ``coordinates`` (P,) packed in u (K,) with error bounds du,
    their error bounds (K, P), and which decoded: u − 1 within a quarter of an integer,
    its bound under a quarter, every digit in range."""
    count = len(coordinates)
    v = np.asarray(u, dtype=float) - 1.0
    whole = np.round(v)
    ok = (np.abs(v - whole) <= _SLACK) & (du < _SLACK) & (whole >= 0)
    ok &= whole < float(grid.levels) ** count
    digits = np.zeros((len(v), count))
    rest = np.where(ok, whole, 0.0)
    for j in range(count):
        rest, digits[:, j] = np.divmod(rest, grid.levels)
    step, _ = grid.at(coordinates)
    own = np.asarray(grid.error)[coordinates] if grid.per_feature else 0.0
    return grid.values(digits + grid.low, coordinates), du[:, None] * step + own, ok


def bits_limit(
    m: int,
    n: int,
    d: int,
    loss: str | None,
    dtype: str | None,
    grid: PackGrid | None,
    label_grid: PackGrid | None = None,
) -> float | None:
    """The fewest queries that could carry M samples' inputs and labels: their bits over
    one answer's (its format's mantissa). A number off any grid counts as a whole answer's
    bits; a cross-entropy label as log2 d, a squared-loss label on a grid as d times its
    grid's bits."""
    if dtype is None or not m:
        return None
    answer = FORMATS[dtype].mantissa
    per_input = answer if grid is None else grid.bits
    if loss == "cross_entropy":
        per_label = float(np.log2(d))
    else:
        per_label = d * (answer if label_grid is None else label_grid.bits)
    return float(m * (n * per_input + per_label) / answer)

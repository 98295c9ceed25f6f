"""Quantized data: find the grid recovered values lie on, and snap them to it.

Real inputs are often quantized — scikit-learn's digits are multiples of 1/16 once scaled,
8-bit images multiples of 1/255 — and a reconstruction accurate to a few unit roundoffs
then rounds to the exact data. :func:`detect_grid` looks for the coarsest step 1/q
(q up to ``most``) that every value lies on within a small share of the step, or within
the values' own error bounds; it claims no grid when none fits, so Gaussian data stays
as read.
"""

from __future__ import annotations

import numpy as np

__all__ = ["detect_feature_grids", "detect_grid", "on_grid", "snap"]


def detect_grid(
    values: np.ndarray,
    bounds: np.ndarray | None = None,
    most: int = 1024,
    tolerance: float = 1e-3,
    fit: float = 0.99,
) -> float | None:
    """The coarsest step 1/q (1 <= q <= ``most``) that the values are multiples of, or
    None. A value may be off its multiple by ``tolerance`` of the step, or by twice its
    error bound (``bounds``, the shape of ``values``) where that is more; a share
    ``fit`` of them must be (error bounds hold for most numbers, not all). A value
    whose slack would reach a quarter of the step cannot tell that step from a finer
    one and is not asked, nor is one within half a step of 0 (on every grid); the step
    is claimed only if at least half the others, and 8, are."""
    x = np.asarray(values, dtype=np.float64).ravel()
    b = np.zeros_like(x) if bounds is None else np.broadcast_to(bounds, np.shape(values)).ravel()
    keep = np.isfinite(x)
    x, b = x[keep], np.asarray(b, dtype=np.float64)[keep]
    if not len(x):
        return None
    for q in range(1, most + 1):
        slack = np.maximum(tolerance, 2.0 * b * q)
        # Values within half a step of 0 lie on every grid and say nothing about this one.
        telling = np.abs(x * q) >= 0.5
        asked = telling & (slack < 0.25)
        if asked.sum() < max(8, telling.sum() / 2) and asked.sum() < telling.sum():
            continue
        if not asked.any():
            continue
        scaled = x[asked] * q
        if np.mean(np.abs(scaled - np.round(scaled)) <= slack[asked]) >= fit:
            return 1.0 / q
    return None


def detect_feature_grids(
    values: np.ndarray, bounds: np.ndarray, most: int = 64, tolerance: float = 1e-3
) -> tuple[np.ndarray, np.ndarray] | None:
    """An affine grid per feature, offset_k + step_k q (standardized 8-bit data: one
    step 1/σ_k and offset −μ_k/σ_k each), from values (S, n) with error bounds (S, n),
    as (steps (n,), offsets (n,)); None unless every feature has one.

    A feature's differences to its smallest value must all be multiples of one step:
    the smallest gap between its values over j, for the smallest j <= ``most`` whose
    indices, with the step and offset fitted to them by least squares, leave every
    value within ``tolerance`` of the step or twice the differences' bounds (which must
    stay under a quarter of it). Each feature must show at least 4 distinct values:
    fewer fit any step."""
    x = np.asarray(values, dtype=np.float64)
    b = np.broadcast_to(np.asarray(bounds, dtype=np.float64), x.shape)
    if x.ndim != 2 or not np.all(np.isfinite(x)):
        return None
    steps, offsets = np.zeros(x.shape[1]), np.zeros(x.shape[1])
    for k in range(x.shape[1]):
        fitted = _feature_grid(x[:, k], b[:, k], most, tolerance)
        if fitted is None:
            return None
        steps[k], offsets[k] = fitted
    return steps, offsets


def _feature_grid(
    v: np.ndarray, b: np.ndarray, most: int, tolerance: float
) -> tuple[float, float] | None:
    """(step, offset) of one feature's values v (S,) with bounds b (S,), or None."""
    base = int(np.argmin(v))
    delta = v - v[base]
    slack = 2.0 * (b + b[base])
    distinct = delta > np.maximum(slack, 1e-300)
    gaps = np.diff(np.sort(v))
    gaps = gaps[gaps > slack.max()]
    if len(gaps) < 3:
        return None
    smallest = float(gaps.min())
    for j in range(1, most + 1):
        step = smallest / j
        allowed = np.maximum(tolerance, slack / step)
        if np.any(allowed[distinct] >= 0.25):
            return None  # finer steps than this cannot be told apart from the values
        # The step from one gap is off by its values' errors, which grow with q: the
        # indices it gives are refitted by least squares, and the fit must hold.
        index = np.round(delta / step)
        fitted, offset = np.polyfit(index, v, 1)
        if np.all(np.abs(v - offset - fitted * index) <= allowed * fitted):
            return float(fitted), float(offset)
    return None


def snap(values: np.ndarray, step: float, bounds: np.ndarray | None = None) -> np.ndarray:
    """Every value rounded to the nearest multiple of ``step`` — with ``bounds``, only
    those whose error bound is under half the step (the multiple is then certain) and
    that lie within twice their bound of it."""
    x = np.asarray(values, dtype=np.float64)
    snapped = on_grid(np.round(x / step), step)
    if bounds is None:
        return snapped
    b = np.broadcast_to(bounds, x.shape)
    sure = (b < 0.5 * step) & (np.abs(snapped - x) <= np.maximum(2.0 * b, 1e-3 * step))
    return np.where(sure, snapped, x)


def on_grid(index: np.ndarray, step: float) -> np.ndarray:
    """The grid values index * step, written as index / q when step is 1/q (k / 255 is
    then the very number the data hold, which k * (1 / 255) need not be)."""
    q = np.round(1.0 / step)
    if abs(1.0 / step - q) <= 1e-9 * q:
        return np.asarray(index, dtype=np.float64) / q
    return np.asarray(index, dtype=np.float64) * step

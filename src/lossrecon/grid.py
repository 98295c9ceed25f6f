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

__all__ = ["detect_grid", "on_grid", "snap"]


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

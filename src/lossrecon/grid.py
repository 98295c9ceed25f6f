"""Quantized data: find the grid recovered values lie on, and snap them to it.

Real inputs are often quantized — scikit-learn's digits are multiples of 1/16 once scaled,
8-bit images multiples of 1/255 — and a reconstruction accurate to a few unit roundoffs
then rounds to the exact data. :func:`detect_grid` looks for the coarsest step 1/q
(q up to ``most``) that every value lies on within a small share of the step; it claims
no grid when none fits, so Gaussian data stays as read.
"""

from __future__ import annotations

import numpy as np

__all__ = ["detect_grid", "snap"]


def detect_grid(values: np.ndarray, most: int = 1024, tolerance: float = 1e-3) -> float | None:
    """The coarsest step 1/q (1 <= q <= ``most``) that every value is a multiple of to
    within ``tolerance`` of the step, or None."""
    x = np.asarray(values, dtype=np.float64).ravel()
    x = x[np.isfinite(x)]
    if not len(x):
        return None
    for q in range(1, most + 1):
        scaled = x * q
        if np.max(np.abs(scaled - np.round(scaled))) <= tolerance:
            return 1.0 / q
    return None


def snap(values: np.ndarray, step: float) -> np.ndarray:
    """Every value rounded to the nearest multiple of ``step``."""
    return np.round(np.asarray(values) / step) * step

"""Floating-point formats: their unit roundoff, and telling which one produced a number.

A float32 client's ``float(loss)`` is a float32 number even after it travels as a
float64: its last 29 mantissa bits are zero, which a float64 computation leaves so by
chance once in 2^29. So a server that sees only numbers can still tell the client's
arithmetic, and set its resolution and error bounds from it.
"""

from __future__ import annotations

import numpy as np

__all__ = ["ROUNDOFF", "answer_resolution", "decimal_digits", "detect_dtype", "representable"]

ROUNDOFF = {"float64": 2.0**-53, "float32": 2.0**-24, "float16": 2.0**-11, "bfloat16": 2.0**-8}


def representable(values: np.ndarray, dtype: str) -> bool:
    """Whether every value (float64) is exactly a number of the format ``dtype``."""
    x = np.asarray(values, dtype=np.float64)
    if dtype == "float64":
        return True
    if dtype == "bfloat16":
        single = x.astype(np.float32)
        return bool(np.all(single == x) and np.all(single.view(np.uint32) & 0xFFFF == 0))
    narrow = x.astype(np.float16 if dtype == "float16" else np.float32)
    return bool(np.all(narrow.astype(np.float64) == x))


def detect_dtype(values: np.ndarray) -> str:
    """The narrowest format all the values belong to (float64 when none is narrower).

    Meant for answers of a real computation with many significant bits; a handful of
    round numbers (0, 1, 0.5) belong to every format and say nothing.
    """
    for dtype in ("bfloat16", "float16", "float32"):
        if representable(values, dtype):
            return dtype
    return "float64"


def answer_resolution(dtype: str, digits: int | None, noise: float) -> float:
    """The relative difference between two answers that still says nothing: 64 unit
    roundoffs of the format, a unit in the last of ``digits`` decimal digits, or 8 times
    the measured relative ``noise``, whichever is largest."""
    decimal = 0.0 if digits is None else 10.0 ** (1 - digits)
    return max(64.0 * ROUNDOFF[dtype], decimal, 8.0 * noise)


def decimal_digits(values: np.ndarray, most: int = 12) -> int | None:
    """The fewest significant decimal digits every nonzero value is written with, if at
    most ``most`` (a loss rounded to k digits before it is reported), else None."""
    x = np.asarray(values, dtype=np.float64)
    x = x[(x != 0) & np.isfinite(x)]
    if not len(x):
        return None
    exponent = np.floor(np.log10(np.abs(x)))
    for digits in range(1, most + 1):
        scaled = x * 10.0 ** (digits - 1 - exponent)
        if np.all(np.abs(scaled - np.round(scaled)) <= 1e-14 * np.abs(scaled)):
            return digits
    return None

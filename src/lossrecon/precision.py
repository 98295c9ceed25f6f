"""Floating-point formats: their unit roundoff, and telling which one produced a number.

A float32 client's ``float(loss)`` is a float32 number even after it travels as a
float64: its last 29 mantissa bits are zero, which a float64 computation leaves so by
chance once in 2^29. So a server that sees only numbers can still tell the client's
arithmetic, and set its resolution and error bounds from it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

import numpy as np

__all__ = [
    "ACCUMULATION",
    "DTYPES",
    "FORMATS",
    "LARGEST",
    "ROUNDOFF",
    "AnswerModel",
    "Format",
    "Precision",
    "decimal_digits",
    "detect_dtype",
    "in_format",
    "representable",
]

Precision = Literal["float64", "float32", "float16", "bfloat16"]
DTYPES: tuple[str, ...] = get_args(Precision)


@dataclass(frozen=True)
class Format:
    """A floating-point format: its significand bits (the implicit one included), its
    largest finite number, the format a sum of products accumulates in (PyTorch
    accumulates half-precision ones in float32, on the CPU and on CUDA, and rounds the
    result once) and numpy's name for it (None where numpy has none)."""

    mantissa: int
    largest: float
    accumulation: str
    numpy: str | None

    @property
    def roundoff(self) -> float:
        """The unit roundoff: half the spacing of the format's numbers at 1."""
        return 2.0**-self.mantissa


FORMATS: dict[str, Format] = {
    "float64": Format(53, float(np.finfo(np.float64).max), "float64", "float64"),
    "float32": Format(24, float(np.finfo(np.float32).max), "float32", "float32"),
    "float16": Format(11, 65504.0, "float32", "float16"),
    "bfloat16": Format(8, 3.3895313892515355e38, "float32", None),
}
ROUNDOFF = {name: f.roundoff for name, f in FORMATS.items()}
LARGEST = {name: f.largest for name, f in FORMATS.items()}
ACCUMULATION = {name: f.accumulation for name, f in FORMATS.items()}


def in_format(values: np.ndarray | float, dtype: str) -> np.ndarray:
    """The values (float64) as a PyTorch client stores the weights it is sent in the
    format ``dtype``: rounded to float32 first, then to the narrower format, each to
    nearest, ties to even (PyTorch casts float64 to half precision through float32)."""
    x = np.asarray(values, dtype=np.float64)
    if dtype == "float64":
        return x
    with np.errstate(over="ignore"):
        single = x.astype(np.float32)
        if dtype == "float16":
            return single.astype(np.float16).astype(np.float64)
    if dtype == "bfloat16":
        bits = single.view(np.uint32).astype(np.uint64)
        rounded = (bits + 0x7FFF + ((bits >> 16) & 1)) & 0xFFFF0000
        return rounded.astype(np.uint32).view(np.float32).astype(np.float64)
    return single.astype(np.float64)


def representable(values: np.ndarray, dtype: str) -> bool:
    """Whether every value (float64) is exactly a number of the format ``dtype``: the
    client's rounding (:func:`in_format`) leaves it as it is."""
    x = np.asarray(values, dtype=np.float64)
    return bool(np.all(in_format(x, dtype) == x))


_BATCHES = 64  # batches a reported loss may average, at most, for its format to show
_SPREAD = 4  # binades the batch losses of one answer may spread over


def detect_dtype(values: np.ndarray) -> str:
    """The narrowest format all the values belong to (float64 when none is narrower).

    A training loop that reports the mean of its batches' losses, each computed in the
    format and summed in Python's float64 (``loss += criterion(...).item()``, then
    ``/ len(loader)``), reports no number of the format: each answer is then a sum of
    B of its numbers over B, and that sum has at most the format's bits and a few more;
    one B for every answer tells the format.

    Meant for answers of a real computation with many significant bits; a handful of
    round numbers (0, 1, 0.5) belong to every format and say nothing.
    """
    narrow = sorted(FORMATS, key=lambda name: FORMATS[name].mantissa)[:-1]
    for dtype in narrow:
        if representable(values, dtype):
            return dtype
    x = np.asarray(values, dtype=np.float64)
    x = x[(x != 0) & np.isfinite(x)]
    if len(x) < 4:
        return "float64"
    for dtype in narrow:
        for batches in range(2, _BATCHES + 1):
            bits = FORMATS[dtype].mantissa + int(np.ceil(np.log2(batches))) + _SPREAD
            if _within_bits(x * batches, bits):
                return dtype
    return "float64"


def _within_bits(values: np.ndarray, bits: int) -> bool:
    """Whether every value has at most ``bits`` significant bits, up to the float64
    rounding of having been divided and multiplied back (a few units of 2^-53)."""
    mantissa, _ = np.frexp(values)
    scaled = mantissa * 2.0**bits
    return bool(np.all(np.abs(scaled - np.round(scaled)) <= 2.0 ** (bits - 50)))


@dataclass(frozen=True)
class AnswerModel:
    """What one answer of a client can be off by: the rounding of the format it computes
    in (``dtype``), of the decimal ``digits`` it reports (None: not rounded), and its
    measured relative ``noise`` (a standard deviation, relative to the loss)."""

    dtype: str
    digits: int | None = None
    noise: float = 0.0

    @property
    def decimal(self) -> float:
        """Half a unit in the last reported digit, relative (0 when not rounded)."""
        return 0.0 if self.digits is None else 0.5 * 10.0 ** (1 - self.digits)

    @property
    def rounding(self) -> float:
        """A bound on an answer's rounding relative to the loss: 16 unit roundoffs of the
        format it accumulates in (a sum of many terms), one of the format it is returned
        in (two roundings to nearest, of each sample's loss and of their sum), twice its
        decimal rounding (a unit in its last reported digit, relative)."""
        wobble = ROUNDOFF[ACCUMULATION[self.dtype]]
        return max(16.0 * wobble, ROUNDOFF[self.dtype], 2.0 * self.decimal)

    @property
    def error(self) -> float:
        """A bound on an answer's error relative to the loss: its rounding, or 4
        standard deviations of its noise."""
        return max(self.rounding, 4.0 * self.noise)

    @property
    def noisy(self) -> bool:
        """Whether the noise, not the rounding, bounds the answers."""
        return 4.0 * self.noise >= self.error

    @property
    def resolution(self) -> float:
        """The relative difference between two answers that still says nothing: each
        may be off by :attr:`error`, so the two may differ by twice it."""
        return 2.0 * self.error


def decimal_digits(values: np.ndarray, most: int = 14) -> int | None:
    """The fewest significant decimal digits every nonzero value is written with, if at
    most ``most`` (a loss rounded to k digits before it is reported), else None."""
    x = np.asarray(values, dtype=np.float64)
    x = x[(x != 0) & np.isfinite(x)]
    if not len(x):
        return None
    exponent = np.floor(np.log10(np.abs(x)))
    for digits in range(1, most + 1):
        scaled = x * 10.0 ** (digits - 1 - exponent)
        # x times a power of ten carries the float64 rounding of both: a few units of 2^-53.
        if np.all(np.abs(scaled - np.round(scaled)) <= 8.0 * 2.0**-53 * np.abs(scaled)):
            return digits
    return None

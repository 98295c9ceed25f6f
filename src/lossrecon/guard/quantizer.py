"""The grid every guarded metric is reported on: a declared range cut into 2^b values.

Whatever the client's data, a metric snapped to this grid takes one of 2^b values, so
it carries at most b bits; that count is what the guard's bound is made of. A value
outside the range (or NaN, or infinite) is clipped to the range's nearer end and
reported as clipped, never an error: a misconfigured range must not stop a client.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from lossrecon.errors import ConfigurationError

__all__ = ["MAX_BITS", "Quantizer"]

MAX_BITS = 52
"""A float64 holds 2^52 evenly spaced values in a binade: more bits would not be kept."""


@dataclass(frozen=True)
class Quantizer:
    """Snap numbers in [``low``, ``high``] to ``2**bits`` evenly spaced values, the ends
    included; ``resolution`` is the spacing, the largest error is half of it."""

    low: float
    high: float
    bits: int

    def __post_init__(self) -> None:
        if not (isinstance(self.bits, int) and 1 <= self.bits <= MAX_BITS):
            raise ConfigurationError(f"bits must be an integer in 1..{MAX_BITS}, got {self.bits!r}")
        if not (math.isfinite(self.low) and math.isfinite(self.high) and self.low < self.high):
            raise ConfigurationError(
                "a metric's range must be two finite numbers, low < high; "
                f"got ({self.low!r}, {self.high!r})"
            )

    @property
    def levels(self) -> int:
        return 2**self.bits

    @property
    def resolution(self) -> float:
        return (self.high - self.low) / (self.levels - 1)

    def snap(self, value: float) -> tuple[float, bool]:
        """``value`` on the grid, and whether it had to be clipped (NaN goes to ``high``)."""
        if math.isnan(value):
            return self.high, True
        clipped = not self.low <= value <= self.high
        inside = min(max(value, self.low), self.high)
        step = round((inside - self.low) / self.resolution)
        return min(self.low + step * self.resolution, self.high), clipped

"""Windows: where isolation says a sample lies, as a readout receives it.

A window is a box of intervals lo < d·a < hi, one on each of a few random unit
directions d; the gates switch off every sample outside it. The directions live in one
:class:`Directions` registry that both charts add to and the queries read (each row of
a gate is a direction over its span).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np

__all__ = ["Directions", "Window"]


class Directions:
    """Random unit directions (n,) the windows are cut along, each with the span
    (−span, span) that holds every sample's projection on it."""

    def __init__(self) -> None:
        self.vectors: list[np.ndarray] = []
        self.spans: list[float] = []

    def __len__(self) -> int:
        return len(self.vectors)

    def add(self, vector: np.ndarray, span: float) -> int:
        """Register a direction; returns its index."""
        self.vectors.append(vector)
        self.spans.append(float(span))
        return len(self.vectors) - 1

    def widest(self, default: float | None = None) -> float:
        """The largest span registered (``default`` while there is none): a bound on
        every sample's projection on any unit direction."""
        if default is not None:
            return max(self.spans, default=default)
        return max(self.spans)

    @contextmanager
    def trial(self, vectors: list[np.ndarray], spans: list[float]) -> Iterator[int]:
        """Directions registered for the queries inside the block only; yields the
        first one's index."""
        first = len(self.vectors)
        self.vectors += vectors
        self.spans += [float(s) for s in spans]
        try:
            yield first
        finally:
            del self.vectors[first:], self.spans[first:]


@dataclass
class Window:
    """Samples whose projections on directions ``dirs`` lie in (lo, hi), one interval each."""

    dirs: list[int]
    lo: list[float]
    hi: list[float]
    share: float = 0.0
    error: float = 0.0  # how far off ``share`` may be: rounding of every answer behind it
    recuts: int = 0  # splits of this window undone because a cut ran through a sample
    scale: float = 1.0  # the count pair's output scale its share was read at
    # Bias-free, a window whose positions showed no spread: their mean and the spread the
    # answers cannot tell (0: not probed), and the probes in a row that left one part empty.
    centre: float = 0.0
    blur: float = 0.0
    stable: int = 0
    side: float = 1.0  # bias-free: the anchor's sign its samples are read with (u0·a > 0)

    def narrowed(self, lo: float, hi: float, cap: float) -> Window:
        """A part of this window along its last direction; about half its samples, so
        its count may be read at twice the scale (at most ``cap``)."""
        return Window(
            self.dirs,
            [*self.lo[:-1], lo],
            [*self.hi[:-1], hi],
            scale=min(cap, 2.0 * self.scale),
            side=self.side,
        )

    def deeper(self, direction: int, lo: float, hi: float) -> Window:
        """This window cut along one more direction (not probed along it yet)."""
        return Window(
            [*self.dirs, direction],
            [*self.lo, lo],
            [*self.hi, hi],
            self.share,
            self.error,
            scale=self.scale,
            side=self.side,
        )

    @property
    def width(self) -> float:
        return self.hi[-1] - self.lo[-1]

"""Where windows come from: random directions, their spans, and cuts between samples.

What both charts share: a new direction with the smallest span that holds every
sample's projection, the window of every sample, and a window's cut near its middle at
a number the client's format holds.
"""

from __future__ import annotations

import numpy as np

from lossrecon.attacks.chosen.queries import GatedQueries
from lossrecon.attacks.chosen.windows import Window
from lossrecon.precision import in_format

__all__ = ["CHART_BUDGET", "DERIVED", "LEVELS", "Cuts"]

DERIVED = 0.05  # a derived share may be off by this share of one sample's, no more
LEVELS = 100  # chart levels at most
CHART_BUDGET = 40  # splits per window found, at most, before a chart gives up
_RECUTS = 3  # cuts of a window that cut a sample, before it is charted on a new direction
_DIRECTIONS = 4  # directions a window is charted along, at most


class Cuts:
    """Directions and cuts for a chart, drawn from ``rng``."""

    def __init__(self, queries: GatedQueries, rng: np.random.Generator) -> None:
        self.queries = queries
        self.client = queries.client
        self.directions = queries.directions
        self.rng = rng
        self.n = queries.n

    def new_direction(self, within: Window | None, side: float = 1.0) -> int:
        """A random unit direction, and the range of the samples' projections on it
        (inside ``within``, else on the anchor's ``side``): the smallest of the spans
        tried that holds them all."""
        w = self.rng.normal(size=self.n)
        w /= np.linalg.norm(w)
        base = within or Window([], [], [], scale=self.client.first_scale, side=side)
        spans = 10.0 ** np.arange(-6.0, 13.0)
        # The rows w / span and every sample's w·a / span must stay finite in the client's
        # format: large spans first, then the small ones the first batch shows are safe.
        largest = self.client.largest
        bound = 4.0 * self.directions.widest(1.0)
        large = spans[(spans >= 1.0) & (spans >= bound / largest)]
        shares = self.span_shares(w, base, large)
        full = shares[-1]
        tolerance = max(1e-6 * abs(full), 4.0 * self.client.floor(full))
        enough = np.flatnonzero(np.abs(shares - full) <= tolerance)
        span = float(large[enough[0]]) if len(enough) else float(large[-1])
        if span == large[0]:
            small = spans[(spans < span) & (spans >= max(span, bound) / largest)]
            if len(small):
                shares = self.span_shares(w, base, small)
                enough = np.flatnonzero(np.abs(shares - full) <= tolerance)
                if len(enough):
                    span = float(small[enough[0]])
        return self.directions.add(w, span)

    def span_shares(self, w: np.ndarray, base: Window, spans: np.ndarray) -> np.ndarray:
        """The share of (−span, span) along ``w`` inside ``base``, for every span in one
        batch (each span its own direction entry, so its own row scale, for now)."""
        with self.directions.trial([w] * len(spans), list(spans)) as index:
            windows = [base.deeper(index + i, -span, span) for i, span in enumerate(spans)]
            return self.queries.shares(windows, "range")[0]

    def top_window(self, side: float = 1.0) -> Window | None:
        """The window of every sample (bias-free: on the anchor's ``side``), along a
        first random direction, with its share; None when no sample's share shows."""
        top_dir = self.new_direction(None, side)
        span = self.directions.spans[top_dir]
        top = Window([top_dir], [-span], [span], scale=self.client.first_scale, side=side)
        top.share, top.error = (float(v) for v in self.queries.shares([top])[:, 0])
        return top if top.share > top.error else None

    def far_side(self, top: Window) -> bool:
        """Bias-free: whether samples lie where the anchor reads nothing (u0·a < 0): the
        share of a window a million times wider than ``top`` along its direction, with
        the anchor −u0, in one query pair."""
        vector = self.directions.vectors[top.dirs[0]]
        span = 1e6 * self.directions.spans[top.dirs[0]]
        with self.directions.trial([vector], [span]) as index:
            wide = Window([index], [-span], [span], scale=self.client.first_scale, side=-1.0)
            share, error = self.queries.shares([wide], "range")[:, 0]
        return bool(share > error)

    def held(self, w: Window, cut: float) -> float | None:
        """``cut`` as the client holds it (a number of its format, in units of the
        direction's span), if it still lies inside ``w``."""
        scale = self.directions.spans[w.dirs[-1]]
        cut = float(in_format(cut / scale, self.client.dtype)) * scale
        return cut if w.lo[-1] < cut < w.hi[-1] else None

    def cut(self, w: Window, jitter: bool = True) -> float | None:
        """Where to split ``w`` along its last direction: near its middle (farther off
        after a cut that ran through a sample, or exactly there without ``jitter``), at a
        bias the client's format holds; None if the window is below the client's
        resolution there or keeps being cut through samples."""
        scale = self.directions.spans[w.dirs[-1]]
        if w.width <= 64.0 * self.client.wobble * scale or w.recuts >= _RECUTS:
            return None
        middle = self.held(w, 0.5 * (w.lo[-1] + w.hi[-1]))
        if not jitter or middle is None:
            return middle
        spread = 1e-3 if not w.recuts else 0.3
        return self.held(w, middle + spread * w.width * self.rng.uniform(-1.0, 1.0)) or middle

    def room(self, w: Window) -> bool:
        """Whether ``w`` can be charted along one more direction."""
        rows = 2 * (len(w.dirs) + 1) + 2
        return len(w.dirs) < _DIRECTIONS and rows <= self.queries.router.rows

    def splittable(self, w: Window, unit: float) -> bool:
        """Cut along its direction, or room for another direction (when the window's
        count is precise enough, against one sample's share ``unit``, to say it holds
        several)."""
        if self.cut(w, jitter=False) is not None:
            return True
        return self.room(w) and w.error <= 0.25 * unit

    def tie_risk(self, w: Window, unit: float) -> bool:
        """Whether a sample of ``w`` may project exactly onto a cut: the cuts are numbers
        of the client's format, spaced by its roundoff times their size, and data on a
        grid projects onto such numbers often when that spacing is not small against
        the window's width over its count (one sample's share ``unit``)."""
        edge = max(abs(w.lo[-1]), abs(w.hi[-1]))
        count = max(w.share / unit, 1.0)
        return bool(count * 2.0 * self.client.roundoff * edge >= 1e-3 * w.width)

    def halves(
        self, windows: list[Window], cuts: list[float | None]
    ) -> tuple[list[Window], list[Window], list[Window], list[Window]]:
        """The windows that cannot be cut, each along a new direction inside it, and for
        the others (the parents) their left and right parts at their cuts."""
        children, wide, lefts, rights = [], [], [], []
        cap = self.client.scale_cap
        for w, cut in zip(windows, cuts, strict=True):
            if cut is None:
                deeper = self.new_direction(w)
                span = self.directions.spans[deeper]
                children.append(w.deeper(deeper, -span, span))
            else:
                wide.append(w)
                lefts.append(w.narrowed(w.lo[-1], cut, cap))
                rights.append(w.narrowed(cut, w.hi[-1], cap))
        return children, wide, lefts, rights

"""Mending the biased chart's failures: windows counted again, read again.

A window whose reading failed its check is counted afresh beside its variants, one edge
at a time moved a quarter of the window inward. A window whose fresh count is another
whole number held other samples than charted (a sample on a cut fell in both parts, and
the part whose share was derived missed it): it is charted again and its windows read.
A sample whose projection lies within the client's rounding of a cut leaks into the
window beside it a share too small to count, and blends its reading: a variant whose
share is the window's (the quarter it left out held no sample) is read, and the first
that passes replaces the failure.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np

from lossrecon.attacks.chosen.isolation import Isolated, Reading, Readout
from lossrecon.attacks.chosen.windows import Window
from lossrecon.precision import in_format

if TYPE_CHECKING:
    from lossrecon.attacks.chosen.chart import BiasedChart

__all__ = ["rescued"]


def _variants(chart: BiasedChart, windows: list[Window]) -> tuple[list[Window], list[int]]:
    """Each window with one edge at a time moved a quarter of it inward (as the client
    holds the edge), and the window each came from."""
    spans = chart.queries.directions.spans
    dtype = chart.client.dtype
    variants: list[Window] = []
    owners: list[int] = []
    for k, w in enumerate(windows):
        for j, direction in enumerate(w.dirs):
            span = spans[direction]
            step = 0.25 * (w.hi[j] - w.lo[j])
            for lo, hi in ((w.lo[j] + step, w.hi[j]), (w.lo[j], w.hi[j] - step)):
                lo, hi = (float(in_format(x / span, dtype)) * span for x in (lo, hi))
                moved_lo, moved_hi = list(w.lo), list(w.hi)
                moved_lo[j], moved_hi[j] = lo, hi
                variants.append(replace(w, lo=moved_lo, hi=moved_hi))
                owners.append(k)
    return variants, owners


def rescued(chart: BiasedChart, reading: Reading, read: Readout) -> Reading:
    """``reading`` with the windows that failed their check counted and read again,
    through ``read`` one coordinate a query (the grids the whole reading found stay)."""
    failed = np.flatnonzero(~reading.ok)
    originals = [replace(reading.windows[i]) for i in failed]
    variants, owners = _variants(chart, originals)
    share, error = chart.queries.shares(originals + variants, "re-read")
    for w, fresh, err in zip(originals, share, error, strict=False):
        w.share, w.error = float(fresh), float(err)
    recount = np.array([round(w.share / chart.unit) for w in originals], dtype=float)
    whole = np.array([chart.whole(w) for w in originals], dtype=bool)
    miscounted = (recount != reading.count[failed]) & (recount >= 1) & whole
    own = np.array(owners, dtype=int)
    tolerance = np.maximum(3.0 * (error[len(failed) :] + error[own]), 0.1 * chart.unit)
    holds = ~miscounted[own] & (np.abs(share[len(failed) :] - share[own]) <= tolerance)
    kept = [v for v, h in zip(variants, holds, strict=True) if h]
    leaves = chart.refine([w for w, m in zip(originals, miscounted, strict=True) if m], True)
    if not kept and not leaves:
        return reading
    chosen = failed[own[holds]]
    count = np.concatenate([reading.count[chosen], [round(w.share / chart.unit) for w in leaves]])
    weight = np.concatenate([reading.weight[chosen], count[len(kept) :] * chart.kappa])
    windows = kept + leaves
    errors = np.zeros(len(windows))
    isolated = Isolated(
        windows, count, weight, errors, chart.unit, chart.kappa, chart.queries.directions
    )
    again = read(isolated, False)
    # Each failure's first variant that passes, and every window charted again.
    taken = np.zeros(len(again.ok), dtype=bool)
    taken[len(kept) :] = True
    replaced = np.zeros(len(reading.ok), dtype=bool)
    replaced[failed[miscounted]] = True
    for v in np.flatnonzero(again.ok[: len(kept)]):
        if not replaced[chosen[v]]:
            taken[v] = replaced[chosen[v]] = True
    mended = int(again.ok[taken].sum())
    if mended:
        chart.notes.append(
            f"{mended} samples passed their check when read again, an edge of their "
            "window moved inward or the window charted again (a sample on a cut)"
        )
    return Reading.joined([reading.subset(~replaced), again.subset(taken)])

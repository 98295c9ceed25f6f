"""The bias-free chart: windows split where their samples' positions spread.

Without biases a sample's share goes as t² (t = u0·a), so shares count nothing. Each
window's samples' positions along its direction are weighed instead
(:meth:`WeightedChart.moments`): a window whose positions spread is cut at their mean,
which parts any two distinct samples the answers can tell apart. One whose positions do
not spread is read, unless the answers blur positions by more than _BLUR of its
half-width: then it is cut _STABLE times at random points within a blur of the mean
(never at the mean, where its one sample would lie on the cut); a cut that leaves both
parts holding sends them back to the moments. Samples closer than that are caught by
the check that a window holds one sample (:func:`lossrecon.attacks.chosen.homogeneous.alone`).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from lossrecon.attacks.chosen.cuts import CHART_BUDGET, DERIVED, LEVELS, Cuts
from lossrecon.attacks.chosen.windows import Window
from lossrecon.precision import in_format

__all__ = ["WeightedChart"]

_BLUR = 0.05  # a blur of positions, over a window's half-width, probed before reading
_STABLE = 3  # probes near the mean that leave one part empty, before reading


class WeightedChart:
    """Splits bias-free windows by the moments of their samples' positions."""

    def __init__(self, cuts: Cuts, notes: list[str]) -> None:
        self.cuts = cuts
        self.queries = cuts.queries
        self.client = cuts.client
        self.directions = cuts.directions
        self.rng = cuts.rng
        self.notes = notes

    def chart(self, leaves: list[Window], phase: str, unit: float) -> list[Window]:
        """Windows of one sample each (as far as the moments tell), from ``leaves``;
        ``unit``, a share one sample is known to have (inf while none is)."""

        def unit_guess(w: Window) -> float:
            return unit if np.isfinite(unit) else w.share

        done: list[Window] = []
        spent, start = 0, len(leaves)
        for _ in range(LEVELS):
            fits = [w.stable < _STABLE and self.cuts.splittable(w, unit_guess(w)) for w in leaves]
            todo = [w for w, fit in zip(leaves, fits, strict=True) if fit]
            done += [w for w, fit in zip(leaves, fits, strict=True) if not fit]
            if not todo:
                return done
            if spent > CHART_BUDGET * max(len(done) + len(todo), start) + 1000:
                self.notes.append(
                    "the chart does not settle (noisy answers?): reading the windows it has"
                )
                return done + todo
            split = [w for w in todo if w.blur > 0.0]
            cuts = [self.probe_cut(w) for w in split]
            loose = [w for w in todo if w.blur == 0.0]
            if loose:
                mean, spread, blur = self.moments(loose, phase)
                for w, m, spreads, b in zip(loose, mean, spread, blur, strict=True):
                    if spreads:
                        split.append(w)
                        cuts.append(self.mean_cut(w, float(m)))
                    elif b <= _BLUR * 0.5 * w.width:
                        done.append(w)
                    else:
                        w.centre, w.blur = float(m), float(b)
                        split.append(w)
                        cuts.append(self.probe_cut(w))
                spent += 4 * len(loose)
            spent += len(split)
            leaves = self.split(split, cuts, phase, unit_guess)
        self.notes.append(f"windows were still unsplit after {LEVELS} levels")
        return done + leaves

    def probe_cut(self, w: Window) -> float | None:
        """A cut at a random point between a quarter and one blur away from the mean of
        a window whose positions showed no spread (None where the window cannot be cut
        or the point is off it)."""
        if self.cuts.cut(w, jitter=False) is None:
            return None
        scale = self.directions.spans[w.dirs[-1]]
        offset = self.rng.uniform(0.25, 1.0) * self.rng.choice([-1.0, 1.0]) * w.blur
        cut = float(in_format((w.centre + offset) / scale, self.client.dtype)) * scale
        return cut if w.lo[-1] < cut < w.hi[-1] else self.cuts.cut(w)

    def moments(
        self, windows: list[Window], phase: str
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The share-weighted mean position of each window's samples along its last
        direction (K,), whether their positions spread beyond what the answers can tell
        from none (K,), and the spread they cannot tell (the blur, K,). With
        u = 1 + α (r − c) in the window (r = the direction · â, c its centre, α = 2 / its
        width), a count pair's share is S(α) = M0 + 2α M1 + α² M2,
        M_j = Σ_i share_i (r_i − c)^j: S(α) and S(−α) give M1 and M2, and one sample's
        positions have variance M2/M0 − (M1/M0)² = 0. The client rounds u's terms
        (1 − αc and α r) to a few roundoffs of |c| + half: far from 0 a narrow window's
        blur is mostly that."""
        k = len(windows)
        centre = np.array([0.5 * (w.lo[-1] + w.hi[-1]) for w in windows])
        half = np.array([0.5 * w.width for w in windows])
        alpha = 1.0 / half
        rows = np.zeros((k, 2, self.queries.n))
        for i, w in enumerate(windows):
            vector = self.directions.vectors[w.dirs[-1]]
            rows[i, 0], rows[i, 1] = vector, -vector
        sign = np.concatenate([np.ones(k), -np.ones(k)])
        slope = np.concatenate([alpha, alpha]) * sign
        values = (
            np.concatenate([rows, rows]),
            slope[:, None] * np.array([1.0, -1.0]),
            1.0 - slope * np.concatenate([centre, centre]),
        )
        share, error = self.queries.shares(windows + windows, phase, values=values)
        plus, minus, e_plus, e_minus = share[:k], share[k:], error[:k], error[k:]
        m0 = np.array([w.share for w in windows])
        e0 = np.array([w.error for w in windows])
        mean = (plus - minus) / (4.0 * alpha * m0)
        second = (plus + minus - 2.0 * m0) / (2.0 * alpha**2 * m0)
        e_mean = (e_plus + e_minus) / (4.0 * alpha * m0) + np.abs(mean) * e0 / m0
        e_second = (e_plus + e_minus + 2.0 * e0) / (2.0 * alpha**2 * m0) + np.abs(second) * e0 / m0
        variance = second - mean**2
        # The client's rounding of u's terms (1 − αc and α r) moves each position by
        # a few roundoffs of |c| + half.
        rounding = 16.0 * self.client.wobble * (np.abs(centre) + half) * half
        tolerance = 4.0 * (e_second + 2.0 * np.abs(mean) * e_mean) + rounding
        return centre + mean, variance > tolerance, np.sqrt(tolerance)

    def mean_cut(self, w: Window, mean: float) -> float | None:
        """Where to cut ``w``: at its samples' mean position, at a number the client's
        format holds and inside the window (its middle after a cut that ran through a
        sample, or if the mean is off the window); None if it cannot be cut."""
        middle = self.cuts.cut(w)
        if middle is None or w.recuts or not w.lo[-1] < mean < w.hi[-1]:
            return middle
        cut = self.cuts.held(w, mean)
        return middle if cut is None else cut

    def split(
        self,
        windows: list[Window],
        cuts: list[float | None],
        phase: str,
        unit_guess: Callable[[Window], float],
    ) -> list[Window]:
        """Split every window at its cut, all in one batch (along a new direction where
        it has none); a part whose share is within twice its error of nothing holds
        nothing. The right part is the parent's share minus the left's, or asked where
        that would blur it or a sample may sit on the cut; then the parts must add up to
        the parent, or the cut ran through a sample and the window is cut elsewhere."""
        children, wide, lefts, rights = self.cuts.halves(windows, cuts)
        coarse = [
            r
            for p, r in zip(wide, rights, strict=True)
            if p.error > DERIVED * p.share or self.cuts.tie_risk(p, unit_guess(p))
        ]
        asked = lefts + coarse
        if asked:
            for window, (share, error) in zip(
                asked, self.queries.shares(asked, phase).T, strict=True
            ):
                window.share, window.error = float(share), float(error)
        for parent, left, right in zip(wide, lefts, rights, strict=True):
            if not any(right is r for r in coarse):
                right.share = parent.share - left.share
                right.error = parent.error + left.error
            else:
                slack = 4.0 * (parent.error + left.error + right.error)
                if abs(left.share + right.share - parent.share) > slack:
                    parent.recuts += 1
                    children.append(parent)
                    continue
            held = [c for c in (left, right) if c.share > 2.0 * c.error]
            if parent.blur > 0.0 and len(held) == 1:
                # A window probed near its mean that kept all its share on one side:
                # one probe more in a row. Any other part goes back to the moments.
                child = held[0]
                child.centre, child.blur, child.stable = (
                    parent.centre,
                    parent.blur,
                    parent.stable + 1,
                )
            children += held
        return children

"""The biased chart: windows of one sample each, found by counting.

With no extra rows (u = γ = 1), a count pair adds the same share U for every sample in
the window, whatever its label: a window's share is its number of samples times U.
Windows are split near their middle, all splits of a level in one batch, the right
half's share the parent's minus the left's (or asked, where a count would blur or a
sample may sit on the cut), until each holds one sample; a split that does not count
whole samples is undone and cut elsewhere. A window the client cannot cut further that
still holds c >= 2 is charted along new directions inside it, and holds c duplicates if
those do not split it either. U is the smallest share confirmed, so neither M nor the
reduction need be known; κ follows from U. Once U and κ are known, counts are packed
several windows a pair (:mod:`.counts`).
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from lossrecon.attacks.chosen.checks import TWICE, check_consistent
from lossrecon.attacks.chosen.counts import COUNT_TOL, count_capacity, count_windows
from lossrecon.attacks.chosen.cuts import CHART_BUDGET, DERIVED, LEVELS, Cuts
from lossrecon.attacks.chosen.isolation import Isolated, Isolation, Reading, Readout, Scaled
from lossrecon.attacks.chosen.rescue import rescued
from lossrecon.attacks.chosen.windows import Window
from lossrecon.errors import AttackError

__all__ = ["NOTHING", "BiasedChart"]

NOTHING = "no sample's share shows in the loss: nothing to read"
_CONFIRM = 4  # windows of equal share that confirm it is one sample's (M unknown)


class BiasedChart(Isolation):
    """Isolation for networks with biases: windows counted, split and counted again.

    Its windows come from ``cuts``; ``n_samples``, M when known, only speeds the chart;
    ``pack`` lets counts share a query once one sample's share and κ are known; warnings
    go to ``notes``."""

    def __init__(self, cuts: Cuts, n_samples: int | None, pack: bool, notes: list[str]) -> None:
        self.cuts = cuts
        self.queries = queries = cuts.queries
        self.client = queries.client
        self.n_samples = n_samples
        self.notes = notes
        self.capacity = count_capacity(self.client, pack, queries.router.units)
        self.unit = np.inf  # one sample's share of a count pair at scale 1
        self.confirmed = False  # whether ``unit`` is confirmed as one sample's
        self.kappa = 0.0
        self.kappa_unit: float | None = None  # the unit κ was read at
        self.kappa_tried: float | None = None  # the unit κ was last read at in the chart

    # -- the interface ----------------------------------------------------------------
    def isolate(self) -> Isolated | None:
        windows = self.chart(self.n_samples)
        if not windows:
            return None
        if not self.kappa_read:
            self.kappa = self.measure_kappa(windows)
        return self.isolated(windows)

    def isolated(self, windows: list[Window]) -> Isolated:
        """The windows with their counts and loss factors (count times κ)."""
        count = np.array([round(w.share / self.unit) for w in windows], dtype=float)
        weight = count * self.kappa
        return Isolated(
            windows,
            count,
            weight,
            np.zeros(len(windows)),
            self.unit,
            self.kappa,
            self.queries.directions,
        )

    def verify(self, isolated: Isolated, reading: Reading) -> Reading:
        return reading

    def mend(self, reading: Reading, read: Readout) -> Iterator[Reading]:
        if not reading.ok.all():
            yield rescued(self, reading, read)

    def finish(self, first: Isolated, reading: Reading) -> Scaled:
        return Scaled(reading, self.kappa, None, True)

    # -- charting -------------------------------------------------------------------
    def chart(self, n_samples: int | None) -> list[Window]:
        """Windows of one sample each, or of duplicates."""
        top = self.cuts.top_window()
        if top is None:
            self.notes.append(NOTHING)
            return []
        if n_samples is not None:
            self.unit = top.share / n_samples
        return self.refine([top], known=n_samples is not None)

    def refine(self, leaves: list[Window], known: bool) -> list[Window]:
        """Split ``leaves`` level by level, all windows of a level in one batch, until
        each holds one sample or duplicates (``known``: one sample's share is known)."""
        if not leaves:
            return []
        spent = 0
        for _ in range(LEVELS):
            # One sample's share: the smallest share known to a tenth of itself.
            precise = [w.share for w in leaves if w.share > 0 and w.error <= 0.1 * w.share]
            if (len(leaves) > 1 or known) and precise:
                self.unit = min(self.unit, *precise)
            slack = max(0.01, *(3.0 * w.error / w.share for w in leaves))
            agreeing = sum(abs(w.share - self.unit) <= slack * self.unit for w in leaves)
            self.confirmed = known or agreeing >= _CONFIRM
            todo = [
                w
                for w in leaves
                if (w.share >= 1.5 * self.unit or not self.confirmed)
                and self.cuts.splittable(w, self.unit_guess(w))
            ]
            if not todo:
                break
            if spent > CHART_BUDGET * max(len(leaves), 1) + 1000:
                self.notes.append(
                    "the chart does not settle (noisy answers?): reading the windows it has"
                )
                break
            rest = [w for w in leaves if not any(w is t for t in todo)]
            self.read_kappa_early(leaves)
            spent += len(todo)
            leaves = rest + self.split(todo)
        else:
            self.notes.append(f"windows were still unsplit after {LEVELS} levels")
        return self.settle(leaves)

    @property
    def kappa_read(self) -> bool:
        """Whether κ was read for the unit the chart now holds."""
        return self.near_unit(self.kappa_unit)

    def near_unit(self, unit: float | None) -> bool:
        """Whether ``unit`` is the chart's unit (which shrinks when windows thought single
        held two samples, and moves by rounding otherwise)."""
        return unit is not None and abs(unit - self.unit) <= 0.1 * self.unit

    def packable(self) -> bool:
        """Whether counts may be packed now: one sample's share confirmed, and κ read to
        the format's roundoff from single-sample windows."""
        return self.confirmed and self.capacity >= 4 and self.kappa_read

    def read_kappa_early(self, leaves: list[Window]) -> None:
        """κ read as soon as enough single-sample windows are known, where counts can be
        packed: their decoding weighs each window by κ times its output's share."""
        if not self.confirmed or self.capacity < 4 or self.kappa_read:
            return
        singles = sum(round(w.share / self.unit) == 1 for w in leaves)
        if singles < TWICE or self.near_unit(self.kappa_tried):
            return
        self.kappa_tried = self.unit
        kappa = self.measure_kappa(leaves)
        # Read at a larger scale, one sample's share must be the chart's unit; where it
        # is not, the counts are not packed (the windows are then not what they seem).
        if abs(kappa * float(self.client.pair_share(1.0)) - self.unit) <= DERIVED * self.unit:
            self.kappa, self.kappa_unit = kappa, self.unit

    def measure_kappa(self, windows: list[Window]) -> float:
        """κ from one sample's share in a count pair, asked afresh of a few single-sample
        windows (the chart's shares of most windows are differences, with their parents'
        rounding in them)."""
        singles = [w for w in windows if round(w.share / self.unit) == 1][:TWICE]
        if not singles:
            return self.unit / float(self.client.pair_share(1.0))
        # κ then carries the format's roundoff, not the closed loss's.
        scale = self.client.dominant_scale(self.unit)
        first, first_error = self.queries.shares(singles, "kappa", scale)
        again, again_error = self.queries.shares(singles, "kappa", scale)
        check_consistent(first, again, 4.0 * (first_error + again_error))
        unit = float(np.median(first))
        if not unit > 0:
            raise AttackError(
                "the client's answers disagree with themselves: windows that each held one "
                "sample's share of the loss when charted hold none when asked again. Its "
                "loss is not a fixed function of the weights (dropout left on, batches of "
                "unequal sizes reshuffled every call, a model that changes between calls)"
            )
        return unit / float(self.client.pair_share(1.0))

    def unit_guess(self, w: Window) -> float:
        """One sample's share as far as known (the window's own while none is known)."""
        return self.unit if np.isfinite(self.unit) else w.share

    def split(self, windows: list[Window]) -> list[Window]:
        """Split every window near its middle, all in one batch (a window that cannot be
        cut along its direction is charted along a new direction inside it instead). A
        split whose halves do not count whole samples ran through one: it is undone,
        and the window cut elsewhere next time."""
        cuts = [self.cuts.cut(w) for w in windows]
        children, wide, lefts, rights = self.cuts.halves(windows, cuts)
        if not wide:
            return children
        # A right half is the parent's share minus the left's, unless the parent's own
        # error would then blur a count, or a sample may sit exactly on the cut (then it
        # is in both halves): then it is asked too, and the halves must add up.
        coarse = [
            r
            for p, r in zip(wide, rights, strict=True)
            if p.error > DERIVED * self.unit_guess(p) or self.cuts.tie_risk(p, self.unit_guess(p))
        ]
        asked = lefts + coarse
        parents = {id(r): p for p, r in zip(wide, rights, strict=True)}
        parents.update({id(left): p for p, left in zip(wide, lefts, strict=True)})
        packable = self.packable()
        bounds = [round(parents[id(w)].share / self.unit) if packable else 0 for w in asked]
        count_windows(
            self.queries,
            asked,
            bounds,
            packable=packable,
            capacity=self.capacity,
            unit=self.unit,
            kappa=self.kappa,
        )
        for parent, left, right in zip(wide, lefts, rights, strict=True):
            added_up = True
            if not any(right is r for r in coarse):
                right.share = parent.share - left.share
                right.error = parent.error + left.error
            else:
                slack = 0.5 * self.unit + parent.error + left.error + right.error
                added_up = abs(left.share + right.share - parent.share) <= slack
            whole = self.whole(left) and self.whole(right)
            if (
                self.confirmed
                and not (whole and added_up)
                and not self.smaller_unit(parent, left, right)
            ):
                parent.recuts += 1
                children.append(parent)
                continue
            for child in (left, right):
                if child.share > max(child.error, 0.25 * self.unit if self.confirmed else 0.0):
                    children.append(child)
        return children

    def smaller_unit(self, *windows: Window) -> bool:
        """Whether the windows' shares are whole numbers of a smaller unit, the smallest
        of them less than the unit thought: one sample's share is then smaller than that
        (with M unknown, windows of two samples can look like one's), not a sample cut."""
        holding = [w for w in windows if w.share > w.error]  # an empty window tells nothing
        if not holding:
            return False
        least = min(holding, key=lambda w: w.share)
        if not (least.error <= 0.1 * least.share and least.share < (1 - COUNT_TOL) * self.unit):
            return False
        return all(
            abs(w.share / least.share - round(w.share / least.share)) <= COUNT_TOL
            for w in windows
            if w.error <= 0.1 * least.share
        )

    def whole(self, w: Window) -> bool:
        """Whether ``w``'s share is a whole number of samples, as far as its error says."""
        if w.error > 0.1 * self.unit:
            return True
        count = w.share / self.unit
        return abs(count - round(count)) <= COUNT_TOL

    def settle(self, windows: list[Window]) -> list[Window]:
        """Keep the windows whose share is a whole number of units, and which hold one
        sample or are narrower than the client's resolution on every direction
        (duplicates)."""
        kept = []
        for w in windows:
            count = w.share / self.unit
            if abs(count - round(count)) > COUNT_TOL:
                self.notes.append(
                    f"a window counted {count:.2f} samples (a boundary cut a sample): left out"
                )
            elif round(count) == 0:
                continue  # a sliver of share that is no sample: nothing in it
            elif round(count) >= 2 and self.cuts.splittable(w, self.unit_guess(w)):
                self.notes.append(
                    f"a window of {round(count)} samples could not be split further: left out"
                )
            else:
                kept.append(w)
        return kept

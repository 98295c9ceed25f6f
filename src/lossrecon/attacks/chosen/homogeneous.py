"""Isolation without biases (the paper's networks): windows on the ratio to an anchor.

Every unit is positively homogeneous. An anchor u0 (all ones, over sqrt(n)) takes one
first-layer row; a bias b of a first-layer row becomes b u0, γ the weight of the
anchor's unit, and the network computes t · (the gated network at â = a / t), t = u0·a,
for the samples with t > 0 (those with t < 0 are read alongside, in windows whose anchor
is −u0). Reading â and b̂ = b / t is the biased reading with each window's factor κ t²
in place of c κ, and the windows come from the weighted chart
(:mod:`.weighted_chart`). A window that still held two samples reads a blend, which
fails the checks here: it is off the plane u0·â = 1 (squared readouts are
root-mean-squares), or it loses its share when narrowed to slabs around the blend along
fresh random directions; it is charted again along a new direction. κ t² gives t only
with κ, which the answers cannot tell (k copies of (a, b) lose as (√k a, √k b) does):
the reduction is declared or assumed, with M known or counted from the shares.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import numpy as np

from lossrecon.attacks.chosen.chart import NOTHING
from lossrecon.attacks.chosen.checks import TWICE, bounded, check_consistent
from lossrecon.attacks.chosen.cuts import Cuts
from lossrecon.attacks.chosen.isolation import Isolated, Isolation, Reading, Readout, Scaled
from lossrecon.attacks.chosen.queries import GatedQueries
from lossrecon.attacks.chosen.weighted_chart import WeightedChart
from lossrecon.attacks.chosen.windows import Window
from lossrecon.oracle.protocol import reduction_scale
from lossrecon.precision import in_format

__all__ = ["HomogeneousIsolation", "alone", "anchored", "homogeneous_fit"]

_ALONE = 2  # fresh directions a window is narrowed along to check it holds one sample
_RECHARTS = 4  # times the windows whose reading fails are charted again


def homogeneous_fit(loss: str | None, dtype: str | None) -> str | None:
    """Why the gates cannot read a bias-free network's client of this loss kind and
    arithmetic (None where they can, or where it is not known yet)."""
    if loss not in (None, "squared"):
        return (
            "exact gates read bias-free networks under a squared loss only; "
            f"{loss!r} without biases is not built"
        )
    if dtype not in (None, "float32", "float64"):
        return (
            f"the client computes in {dtype}: exact gates without biases read float32 "
            "and float64 clients only (in half precision the inputs' unknown scale "
            "overflows the gate rows, and 8-bit answers cannot show that a window "
            "holds one sample)"
        )
    return None


class HomogeneousIsolation(Isolation):
    """Isolation for bias-free networks under a squared loss, its windows from
    ``cuts``; ``reduction`` scales the inputs back (``reduction_known``: declared, not
    assumed), ``n_samples`` is M when known."""

    def __init__(
        self,
        cuts: Cuts,
        n_samples: int | None,
        reduction: str,
        reduction_known: bool,
        notes: list[str],
    ) -> None:
        self.cuts = cuts
        self.chart = WeightedChart(cuts, notes)
        self.queries, self.client, self.rng = cuts.queries, cuts.client, cuts.rng
        self.n_samples = n_samples
        self.reduction = reduction
        self.reduction_known = reduction_known
        self.notes = notes
        self.unit = np.inf  # the smallest share of a window read so far

    def isolate(self) -> Isolated | None:
        """Chart the samples with u0·a > 0 and, if there are any, those with u0·a < 0
        (anchor −u0) side by side, and weigh the windows found."""
        top = self.cuts.top_window()
        tops = [top] if top is not None else []
        if top is None or self.cuts.far_side(top):
            far = self.cuts.top_window(-1.0)
            tops += [far] if far is not None else []
        if not tops:
            self.notes.append(NOTHING)
            return None
        isolated = self.weigh(self.chart.chart(tops, "chart", self.unit))
        if isolated is None:
            self.notes.append(NOTHING)
            return None
        isolated.whole = tops
        return isolated

    def weigh(self, leaves: list[Window]) -> Isolated | None:
        """The windows that hold a share when asked afresh, each with its factor κ t²;
        None if none holds any."""
        if not leaves:
            return None
        weight, weight_error = self.sample_weights(leaves)
        # Asked afresh, a window's share may show it held nothing (noisy answers).
        held = weight > 2.0 * weight_error
        leaves = [w for w, h in zip(leaves, held, strict=True) if h]
        weight, weight_error = weight[held], weight_error[held]
        if not leaves:
            return None
        # One sample's factor and share, where the readouts size their outputs by them:
        # the smallest found.
        self.unit = min(w.share for w in leaves)
        return Isolated(
            leaves,
            np.ones(len(leaves)),
            weight,
            weight_error,
            self.unit,
            float(weight.min()),
            self.queries.directions,
        )

    def sample_weights(self, windows: list[Window]) -> tuple[np.ndarray, np.ndarray]:
        """Each window's factor κ t² (K,) and its error, asked afresh at outputs that
        make the window's share outweigh the rest of the loss; a few are asked twice,
        and must agree (a loss that is no function of the weights is named, never read)."""
        client = self.client
        for w in windows:
            w.scale = client.dominant_scale(max(w.share, 1e-300))
        few = windows[:TWICE]
        share, error = self.queries.shares(windows + few, "weights")
        k, j = len(windows), len(few)
        check_consistent(share[:j], share[k:], 4.0 * (error[:j] + error[k:]))
        one = float(client.pair_share(1.0))
        return share[:k] / one, error[:k] / one

    def verify(self, isolated: Isolated, reading: Reading) -> Reading:
        """A window held just the sample read from it: its input on the anchor's plane,
        its share kept in slabs around it (``shared`` where not: charted again)."""
        inputs, errors = reading.inputs, reading.errors
        single = anchored(self.queries, isolated, inputs, errors)
        single &= alone(self.queries, self.rng, isolated, inputs, errors, self.notes)
        finite = np.all(np.isfinite(inputs), axis=1)
        return replace(
            reading,
            ok=reading.ok & single & bounded(inputs, errors),
            shared=finite & ~single,
        )

    def mend(self, reading: Reading, read: Readout) -> Iterator[Reading]:
        """Chart again the windows found to hold two samples, and read those again."""
        kept: list[Reading] = []
        for attempt in range(_RECHARTS + 1):
            shared = reading.shared & ~reading.ok
            if attempt == _RECHARTS or not shared.any():
                kept.append(reading)
                break
            kept.append(reading.subset(~shared))
            twice = [w for w, again in zip(reading.windows, shared, strict=True) if again]
            leaves = self.chart.chart([self.afresh(w) for w in twice], "chart again", self.unit)
            isolated = self.weigh(leaves)
            if isolated is None:
                break
            reading = self.verify(isolated, read(isolated, False))
            yield Reading.joined([*kept, reading])
        yield Reading.joined(kept)

    def afresh(self, w: Window) -> Window:
        """A window whose reading failed, to be charted again: along a new direction
        inside it where there is room (two samples that one direction could not part
        are far apart on most others), else on along its own."""
        if not self.cuts.room(w):
            w.blur, w.stable = 0.0, 0
            return w
        deeper = self.cuts.new_direction(w)
        span = self.queries.directions.spans[deeper]
        return w.deeper(deeper, -span, span)

    def finish(self, first: Isolated, reading: Reading) -> Scaled:
        """Every sample scaled back by t = sqrt(κ t² / κ), κ from the reduction and M
        (known, or counted from the loss's shares)."""
        tops = first.whole
        sides = np.array([w.side for w in reading.windows])
        m = sum(
            self.samples(t, reading.weight[sides == t.side], reading.ok[sides == t.side])
            for t in tops
        )
        if self.n_samples is not None and m < self.n_samples and reading.ok.all():
            self.notes.append(
                f"the loss's shares count {m} samples, the client has {self.n_samples}: "
                "some lie too close to the anchor's plane (u0·a near 0) to share enough of "
                "the loss to chart, or some windows hold copies of one sample, which a "
                "bias-free network cannot tell from one sample scaled up (k copies of "
                "(a, b) lose as (√k a, √k b) does)"
            )
        # Counted from the shares, M misses what no share showed: on data of both signs,
        # samples near the anchor's plane (u0·a near 0) can share too little to show.
        counted = len(tops) == 1 and m == int(reading.ok.sum())
        m_known = self.n_samples is not None or self.reduction != "mean" or counted
        pinned = self.reduction_known and m_known
        if self.reduction_known and not m_known:
            self.notes.append(
                "M is not known and some samples may not have been read (missed, or near "
                "the anchor's plane): the inputs and labels share one unknown factor "
                "(scale_known is False)"
            )
        kappa = reduction_scale(self.reduction, self.n_samples or m, self.client.d)
        t = np.sqrt(reading.weight / kappa)[:, None]
        half = 0.5 * reading.relative[:, None]
        errors = t * (reading.errors + half * np.abs(reading.inputs))
        label_bounds = t * (reading.label_bounds + half * np.abs(reading.labels))
        # Back from the anchor's units on either side: a = t â, t = ±u0·a > 0.
        scaled = replace(
            reading,
            inputs=t * reading.inputs,
            errors=errors,
            labels=t * reading.labels,
            label_bounds=label_bounds,
        )
        return Scaled(scaled, kappa, self.reduction, pinned)

    def samples(self, top: Window, weight: np.ndarray, ok: np.ndarray) -> int:
        """M unknown: the samples read, times the whole loss's factor Σ κ t² (the first
        window's share) over theirs: every sample when none was missed, and the missed
        ones counted at the read ones' mean factor."""
        found = int(ok.sum())
        if not found:
            return max(len(ok), 1)
        total = top.share / float(self.client.pair_share(1.0))
        m = max(found, round(found * total / float(weight[ok].sum())))
        if m > found:
            self.notes.append(
                f"{m - found} samples were not read; M = {m} is estimated from the loss's "
                "share of every sample, which sets the scale the reduction gives"
            )
        return m


def anchored(
    queries: GatedQueries, isolated: Isolated, inputs: np.ndarray, errors: np.ndarray
) -> np.ndarray:
    """Whether each input read (in the anchor's units) has u0·â = 1, as a = t â must. A
    window that held two samples reads a blend whose squared readouts are
    root-mean-squares of theirs, off that plane."""
    client = queries.client
    anchor_row = queries.router.anchor
    if anchor_row is None:
        return np.ones(len(inputs), dtype=bool)
    sides = np.array([w.side for w in isolated.windows])
    anchor = sides[:, None] * in_format(anchor_row, client.dtype)
    a = np.nan_to_num(inputs)
    slack = 4.0 * (np.abs(errors) * np.abs(anchor)).sum(1)
    slack += 32.0 * client.roundoff * (np.abs(a) * np.abs(anchor)).sum(1)
    return np.abs((a * anchor).sum(1) - 1.0) <= slack


def alone(
    queries: GatedQueries,
    rng: np.random.Generator,
    isolated: Isolated,
    inputs: np.ndarray,
    errors: np.ndarray,
    notes: list[str],
) -> np.ndarray:
    """Whether each window holds just the sample read from it (K,), its error bounds
    ``errors`` widened in place by what a sample too small to show could move the
    reading. The window is narrowed, along up to _ALONE fresh random directions at
    once, to slabs around the read sample's projections (as wide as its error bound,
    and the client's resolution); one sample keeps its whole share there. A window that
    held two reads a blend of them, which projects where neither lies: the share falls."""
    windows, weight, weight_error = isolated.windows, isolated.weight, isolated.weight_error
    ok = np.all(np.isfinite(inputs) & np.isfinite(errors), axis=1)
    read = np.flatnonzero(ok)
    if not len(read):
        return ok
    depth = max(len(windows[i].dirs) for i in read)
    fresh = min(_ALONE, queries.router.rows // 2 - depth)
    if fresh < 1:
        notes.append(
            "no room in the first layer to check that a window holds one sample: none is returned"
        )
        return np.zeros(len(windows), dtype=bool)
    a, bounds = inputs[read], errors[read]
    narrow = [windows[i] for i in read]
    for _ in range(fresh):
        direction = rng.normal(size=queries.n)
        direction /= np.linalg.norm(direction)
        projection = a @ direction
        reach = max(float(np.abs(projection).max()) * 1.01, 1e-300)
        span = float(10.0 ** np.ceil(np.log10(reach)))
        index = queries.directions.add(direction, span)
        half = 4.0 * (bounds @ np.abs(direction)) + 64.0 * queries.client.wobble * span
        # A slab as wide as the samples' spread checks nothing.
        ok[read] &= half <= 0.1 * span
        half = np.minimum(half, span)
        narrow = [
            w.deeper(index, float(p - h), float(p + h))
            for w, p, h in zip(narrow, projection, half, strict=True)
        ]
    share, error = queries.shares(narrow, "alone")
    one = float(queries.client.pair_share(1.0))
    expected, slack = weight[read] * one, 4.0 * (error + weight_error[read] * one)
    ok[read] &= np.abs(share - expected) <= slack
    # A second sample with less than this share of the window's would go unseen; it
    # moves the blend read by at most about that share of the coordinates' spread.
    unseen = np.ones(len(windows))
    unseen[read] = slack / expected
    largest = np.abs(np.where(np.isfinite(inputs), inputs, 0.0)).max(1)
    errors += (2.0 * unseen * largest)[:, None]
    return ok

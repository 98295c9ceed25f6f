"""Reading the labels of isolated samples.

Squared loss: every output of every sample, o = s e_m, Δ = c κ (s² − 2 s b_m), one query
an output; once the first samples' labels show a grid (one-hot rows do), several outputs
a query. Cross-entropy: one query whose logits are spaced so that the loss says which one
is the label's.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lossrecon.attacks.chosen.client import NOISE_READS, SPACING, power_of_two
from lossrecon.attacks.chosen.isolation import Isolated
from lossrecon.attacks.chosen.packing import PackGrid, decode, pack_grid, weights
from lossrecon.attacks.chosen.queries import GatedQueries
from lossrecon.precision import ROUNDOFF, in_format

__all__ = ["Labels", "read_labels"]

_LABEL_PILOT = 16  # squared loss: samples whose outputs are read one a query, for a grid


@dataclass
class Labels:
    """The labels read (K, d) and their error bounds (K, d); whether each was read
    clearly (K,); the output each sample's values are read on (K,): output 0 for a
    squared loss, another than its class for cross-entropy (whose labels are one-hot
    rows, exact or dropped); squared loss: each label's first output (K,), which sizes
    its readings, and the grid the labels were read packed on (None where they were
    not)."""

    values: np.ndarray
    bounds: np.ndarray
    ok: np.ndarray
    column: np.ndarray
    first_output: np.ndarray | None = None
    grid: PackGrid | None = None


def read_labels(queries: GatedQueries, isolated: Isolated, pack: bool) -> Labels:
    """Squared loss: every output of every sample (several a query on the first
    samples' grid, where ``pack``); cross-entropy: each one's class."""
    reader = _LabelReader(queries, isolated)
    if queries.client.loss == "squared":
        return reader.outputs(pack)
    return reader.classes()


class _LabelReader:
    def __init__(self, queries: GatedQueries, isolated: Isolated) -> None:
        self.queries = queries
        self.client = queries.client
        self.isolated = isolated
        self.d = self.client.d
        k = len(isolated)
        self.values = np.zeros((k, self.d))
        self.bounds = np.zeros((k, self.d))

    def outputs(self, pack: bool) -> Labels:
        k = len(self.isolated)
        grid = None
        everyone = np.arange(k)
        pilot = everyone[:_LABEL_PILOT] if pack else everyone
        for m in range(self.d):
            self.output(m, pilot)
        if len(pilot) < k:
            grid = pack_grid(self.values[pilot], self.bounds[pilot])
        rest = everyone[len(pilot) :]
        if grid is None:
            for m in range(self.d):
                self.output(m, rest)
        elif len(rest):
            self.outputs_packed(rest, grid)
        ok = np.ones(k, dtype=bool)
        column = np.zeros(k, dtype=int)
        return Labels(self.values, self.bounds, ok, column, self.values[:, 0], grid)

    def classes(self) -> Labels:
        """Cross-entropy: each sample's class from one query, its logits spaced by
        SPACING times a spread that keeps the answers' noise a small share of one
        spacing."""
        client, isolated, queries = self.client, self.isolated, self.queries
        windows, weight = isolated.windows, isolated.weight
        k = len(windows)
        extra, mix = queries.plain(k)
        gamma = np.ones(k)
        spread = max(1.0, 4.0 * client.answer_error * client.closed / isolated.kappa)
        highest = min(client.out_limit, client.headroom / (2.0 * float(weight.max())))
        spread = float(power_of_two(min(spread, highest / (SPACING * (self.d - 1)))))
        steps = SPACING * np.arange(self.d)[::-1]

        def spaced(rows: np.ndarray, spreads: np.ndarray) -> np.ndarray:
            chosen = [windows[i] for i in rows]
            out = spreads[:, None] * steps
            return queries.query(chosen, extra[rows], mix[rows], gamma[rows], out, "labels")

        delta, spreads = queries.within_range(spaced, np.full(k, spread))
        scale = weight * spreads * SPACING
        blur = client.answer_error * (abs(client.closed) + np.abs(delta)) / scale
        # Noisy answers: a position blurred past 0.05 is asked again and averaged.
        times = np.ceil((blur / 0.05) ** 2) - 1.0
        again = np.flatnonzero((times >= 1) & client.answers.noisy)
        if len(again):
            times = np.minimum(times[again], 2 * NOISE_READS)
            total = delta[again].copy()
            for r in range(1, int(times.max()) + 1):
                rows = again[times >= r]
                total[times >= r] += spaced(rows, spreads[rows])
            delta[again] = total / (times + 1.0)
        position = (delta / weight + np.log(self.d)) / (spreads * SPACING)
        classes = np.round(position).astype(int)
        ok = (np.abs(position - classes) < 0.1) & (classes >= 0)
        ok &= classes < self.d
        classes = np.clip(classes, 0, self.d - 1)
        other = (classes + 1) % self.d
        return Labels(np.eye(self.d)[classes], self.bounds, ok, other)

    def output(self, m: int, rows: np.ndarray) -> None:
        """Squared loss: output m of the samples ``rows``, o = s e_m:
        Δ = c κ (s² − 2 s b_m)."""
        if not len(rows):
            return
        client, queries = self.client, self.queries
        windows = [self.isolated.windows[i] for i in rows]
        weight = self.isolated.weight[rows]
        extra, mix = queries.plain(len(rows))
        gamma = np.ones(len(rows))

        def output(picked: np.ndarray, scales: np.ndarray) -> np.ndarray:
            out = np.zeros((len(picked), self.d))
            out[:, m] = scales
            chosen = [windows[i] for i in picked]
            return queries.query(chosen, extra[picked], mix[picked], gamma[picked], out, "labels")

        first = np.sqrt(max(client.closed, 1e-300) / weight)
        room = np.sqrt(client.headroom / (2.0 * weight))
        first = power_of_two(np.minimum(np.minimum(first, room), client.out_limit))
        delta, s = queries.within_range(output, first)
        self.values[rows, m] = (s - delta / (weight * s)) / 2.0
        error = client.answer_error * (abs(client.closed) + np.abs(delta))
        # s is a power of two (exact in the client's format); the rest is the
        # answer's error and the decoding's.
        decoding = 4.0 * ROUNDOFF["float64"] * (s + np.abs(self.values[rows, m]))
        self.bounds[rows, m] = (error / (weight * s) + decoding) / 2.0

    def outputs_packed(self, rows: np.ndarray, grid: PackGrid) -> None:
        """Squared loss, labels on ``grid`` (one-hot rows: 0 and 1): P outputs of the
        samples ``rows`` in one query, o_m = s ω_j on them (:func:`packing.weights`),
        Δ = c κ (Σ o_m² − 2 Σ o_m b_m) giving u = γ + Σ ω_j b_{m_j} to decode; the
        outputs whose answer does not decode are read one a query."""
        client, queries = self.client, self.queries
        weight = self.isolated.weight[rows]
        least = float(weight.min())
        extra, mix = queries.plain(len(rows))
        ones = np.ones(len(rows))
        spare = 4.0 * client.roundoff  # the client's rounding of the outputs, relative

        def blur(p: int) -> tuple[float, float]:
            """The error bound of u at its largest for P = p outputs, and the scale s."""
            omega, _ = weights(grid, np.arange(p))
            square = float(omega @ omega)
            scale = np.sqrt(max(abs(client.closed), 1e-300) / (least * square))
            room = np.sqrt(client.headroom / (2.0 * least * square))
            scale = float(power_of_two(min(scale, room, client.out_limit / omega.max())))
            top = float(omega.sum()) * abs(grid.high * float(grid.step))
            share = least * (scale**2 * square + 2.0 * scale * top)
            error = client.answer_error * (abs(client.closed) + share)
            return error / (2.0 * least * scale) + spare * top, scale

        count_per = 1
        for p in range(self.d, 1, -1):
            if blur(p)[0] < 0.05:
                count_per = p
                break
        if count_per == 1:
            for m in range(self.d):
                self.output(m, rows)
            return
        windows = [self.isolated.windows[i] for i in rows]
        for start in range(0, self.d, count_per):
            outputs = np.arange(start, min(start + count_per, self.d))
            omega, gamma = weights(grid, outputs)
            first = blur(len(outputs))[1]

            def packed(
                picked: np.ndarray,
                scales: np.ndarray,
                omega: np.ndarray = omega,
                outputs: np.ndarray = outputs,
            ) -> np.ndarray:
                out = np.zeros((len(picked), self.d))
                out[:, outputs] = in_format(scales[:, None] * omega, client.dtype)
                chosen = [windows[i] for i in picked]
                return queries.query(
                    chosen, extra[picked], mix[picked], ones[picked], out, "labels"
                )

            delta, s = queries.within_range(packed, np.full(len(rows), first))
            held = in_format(s[:, None] * omega, client.dtype)
            per = delta / weight
            u = gamma + ((held**2).sum(1) - per) / (2.0 * s)
            error = client.answer_error * (abs(client.closed) + np.abs(delta))
            du = error / (2.0 * weight * s) + spare * np.abs(u - gamma)
            values, bounds, ok = decode(u, du, grid, outputs)
            self.values[np.ix_(rows[ok], outputs)] = values[ok]
            self.bounds[np.ix_(rows[ok], outputs)] = bounds[ok]
            for m in outputs.tolist() if not ok.all() else ():
                self.output(m, rows[~ok])

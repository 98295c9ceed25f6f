"""The hat, pass by pass: chart, isolate, read, check, for float64 squared losses.

Any piecewise-linear activation whose hidden layers leave room for three parallel
paths. Each pass charts fresh lines from which everything recovered so far is
subtracted: only what is missing or wrong still bends the loss there. Missing samples
(kinks too close to separate, failed checks) are measured there; an upside-down sample
leaves a kink of a telltale shape and is negated in place. The sign of a sample comes
from the chart (the side on which its kink's sample is active), which kinks close
together can blur; each sample's check (its row's value must equal its hat value)
catches that.
"""

from __future__ import annotations

import numpy as np

from lossrecon.attacks.chosen.hat.brackets import (
    Brackets,
    bracket_room,
    calibrate,
    hat_rows,
    hat_values,
    screen,
)
from lossrecon.attacks.chosen.hat.chart import (
    Chart,
    Known,
    chart_kinks,
    chart_samples,
    read_chart_line,
)
from lossrecon.attacks.chosen.hat.paths import Paths
from lossrecon.attacks.chosen.hat.readout import read_coordinates, read_labels
from lossrecon.attacks.chosen.hat.router import Router
from lossrecon.attacks.contract import EARLY_STOPS, Progress, stop_reason
from lossrecon.network import ReLUNetwork
from lossrecon.oracle.counting import CountingOracle
from lossrecon.reconstruction import Reconstruction, RunStats

__all__ = ["read_by_hat"]

# The isolated sample's share of the loss is made this many times the chart loss: the
# rounding of the cancelled far samples then weighs little against it.
_TARGET = 1e6
_RESIDUAL_LIMIT = 1e-8  # relative inconsistency beyond which a sample is rejected
_DYNAMIC_RANGE = 1e-9  # kinks fainter than this share of the median are not isolated
_PASSES = 6  # chart passes at most


def _unit(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x)


class _Hat:
    """One run of the hat: its oracle, paths, random draws and statistics; ``kappa``
    is the loss's factor where the convention gives it (None: from the first chart)."""

    def __init__(
        self,
        oracle: CountingOracle,
        net: ReLUNetwork,
        kappa: float | None,
        rng: np.random.Generator,
        progress: Progress | None,
    ) -> None:
        self.oracle = oracle
        self.net = net
        self.kappa = kappa
        self.rng = rng
        self.progress = progress
        self.stats = RunStats(attack="chosen_weights", method="hat", loss="squared")
        router = Router(net, 3)
        v0 = _unit(rng.normal(size=net.n_outputs))
        self.paths = Paths(router, v0, oracle.ask, self.report)
        self.found = 0

    def report(self, phase: str) -> None:
        if self.progress is not None:
            self.progress(phase, self.oracle.queries, self.found)

    def run(self) -> Reconstruction:
        known: Known | None = None
        passes = 0
        try:
            for number in range(_PASSES):
                passes = number + 1
                changes, kinks, known = self.one_pass(known)
                if number == 0 and kinks == 0:
                    self.stats.stopped = "unreadable"
                    self.stats.warnings.append(
                        "no kinks found along the chart lines, so this attack recovers "
                        "nothing (is the oracle a piecewise-linear network, and is its "
                        "loss exact?)"
                    )
                    break
                if changes == 0:
                    break
        except EARLY_STOPS as exc:
            self.stats.stopped = stop_reason(exc)
            self.stats.warnings.append(
                f"stopped early in pass {passes}: {exc}; returning the samples of the "
                "passes finished before"
            )
        self.stats.passes = passes
        return self.finish(known)

    def random_chart(self) -> Chart:
        dim = self.paths.dim
        p = _unit(self.rng.normal(size=dim))
        q = self.rng.normal(size=dim)
        return Chart(p, _unit(q - (q @ p) * p))

    def one_pass(self, known: Known | None) -> tuple[int, int, Known]:
        """Chart, isolate and measure whatever is still missing; add it to ``known``.

        Returns how many samples it added, negated or dropped, the kinks it charted, and
        the samples known now.
        """
        paths, notes = self.paths, self.stats.warnings
        chart = self.random_chart()
        readings = [read_chart_line(paths, chart, side, known, notes) for side in (0, 1)]
        kinks = chart_kinks(readings)
        if known is None or not len(known.coords):
            scale = max(float(np.max(np.abs(r.values))) for r in readings)
            if known is None:
                known = self.first_known(len(kinks), scale)
            else:
                known.loss_scale = max(known.loss_scale, scale)
        kappa = known.kappa
        samples, corrected = chart_samples(paths, chart, readings, kinks, known)
        measured = np.flatnonzero(samples.measure)
        if not len(measured):
            return corrected, len(kinks), known
        self.report("chart")
        gap = bracket_room(samples)
        y_unit = np.abs(samples.sigma) * gap / 6
        index = measured[y_unit[measured] > _DYNAMIC_RANGE * np.median(y_unit[measured])]
        if len(index) < len(measured):
            notes.append(
                f"{len(measured) - len(index)} kinks are too faint next to the others "
                f"(below {_DYNAMIC_RANGE:g} of the median) to isolate in float64"
            )
        target = np.sqrt(_TARGET * max(known.loss_scale, 1e-300) / kappa)
        amplitude = np.sqrt(target / y_unit[index])
        baseline = calibrate(paths, float(amplitude.max()), notes)
        brackets = Brackets(samples, index, gap, amplitude, samples.beta[index])
        brackets, base = screen(paths, kappa, brackets, y_unit[brackets.index], baseline)
        coords, raw, y0 = read_coordinates(paths, kappa, brackets, base, baseline)
        labels = read_labels(paths, kappa, brackets, y0, baseline)
        brackets.beta = labels @ paths.v0
        y0 = hat_values(paths, kappa, base[0], base[1], baseline, brackets)
        for k, (losses, norms, epsilon) in enumerate(raw):
            y = hat_values(paths, kappa, losses, norms, baseline, brackets)
            coords[:, k] = brackets.sign * (y - y0) / epsilon
        rows = hat_rows(brackets, 1.0)[:, 2]
        size = np.linalg.norm(rows, axis=1) * np.linalg.norm(coords, axis=1)
        residual = np.abs(np.abs(np.einsum("kn,kn->k", rows, coords)) - y0) / size
        good = residual <= _RESIDUAL_LIMIT
        known.add(coords[good], labels[good], residual[good])
        self.found = len(known.coords)
        self.report("checked")
        return corrected + int(good.sum()), len(kinks), known

    def first_known(self, kinks: int, loss_scale: float) -> Known:
        """No sample yet, with the loss's factor: the convention's, or with 'mean' and M
        unknown, M taken to be the first chart's kinks."""
        kappa = self.kappa
        if kappa is None:
            kappa = 1.0 / (max(kinks, 1) * self.net.n_outputs)
            self.stats.warnings.append(
                f"reduction 'mean' without n_samples: assumed M = {kinks} (the kinks "
                "found); duplicates would make every scale wrong by the same factor"
            )
        dim, d = self.paths.dim, self.paths.d
        return Known(np.zeros((0, dim)), np.zeros((0, d)), np.zeros(0), kappa, loss_scale)

    def finish(self, known: Known | None) -> Reconstruction:
        dim, d = self.paths.dim, self.paths.d
        inputs = np.zeros((0, dim)) if known is None else known.coords
        targets = np.zeros((0, d)) if known is None else known.labels
        self.stats.residuals = np.zeros(0) if known is None else known.residual
        if self.net.bias:
            scale = inputs[:, -1].copy()
            inputs = inputs[:, :-1] / scale[:, None]
            targets = targets / scale[:, None]
            self.stats.multiplicity = scale**2
        self.stats.queries_by_phase = dict(self.oracle.by_phase)
        return Reconstruction(
            inputs=inputs,
            targets=targets,
            scale_known=True,
            widths=list(self.net.widths),
            queries=self.oracle.queries,
            stats=self.stats,
        )


def read_by_hat(
    oracle: CountingOracle,
    net: ReLUNetwork,
    kappa: float | None,
    rng: np.random.Generator,
    progress: Progress | None,
) -> Reconstruction:
    """The chosen-weights attack by the hat (float64, squared loss): every sample the
    passes isolate, with its label; ``kappa``, the loss's factor where known."""
    return _Hat(oracle, net, kappa, rng, progress).run()

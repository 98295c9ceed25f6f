"""Exact inputs and labels when the attacker knows the architecture and chooses the weights.

The method (docs/chosen-weights.md has the derivation):

1. **Chart.** Route one unit, first-layer row P + tQ, to the output and read the loss
   along t (two lines, P + tQ and Q + tP, so every sample's hyperplane is met once with
   |t| <= 1). Each kink is a sample: its position t_j is where (P + t_j Q) · a_j = 0, and
   the jumps of E' and E'' estimate Q · a_j and v0 · b_j.
2. **Isolation.** Three paths with rows w_a, w_b = (w_a + w_c)/2, w_c and outputs
   (1, -2, 1) v give F(a) = v * (relu(w_a·a) - 2 relu(w_b·a) + relu(w_c·a)), which is 0
   for every sample whose hyperplane lies outside the bracket (θ_a, θ_c) of the chart.
   A bracket around t_j alone makes the loss depend on sample j only:
   E = C + λ/2 ||w||² + κ (F² - 2 F v·b_j), one equation for the hat value y.
3. **Coordinates.** Adding ε e_k to the three rows adds ±ε (e_k · a_j) to y: one query
   per sample and coordinate, plus one unperturbed query per sample.
4. **Labels.** With a_j known, y is known, and the same isolated query with output
   direction e_m gives (b_j)_m exactly: one query per label component.
5. **Signs.** The hat is even in a_j; the sign comes from the chart (the side on which
   the kink's sample is active), which kinks close together can blur.
6. **Passes.** A new pass reads fresh chart lines from which everything recovered so
   far is subtracted: only what is missing or wrong still bends the loss there. Missing
   samples (kinks too close to separate, failed checks) are measured there; an
   upside-down sample leaves a kink of a telltale shape and is negated in place.

C (the loss at F = 0) and the weight-decay strength λ come from queries with a zero
first layer. Every query of a phase goes to the oracle as one batch.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from lossrecon.activations import Activation
from lossrecon.attacks.contract import EARLY_STOPS, Progress, emit, stop_reason
from lossrecon.attacks.gates import gated_read, gates_fit
from lossrecon.attacks.packing import PackGrid, mantissa_bits
from lossrecon.attacks.routing import Router
from lossrecon.errors import AttackError, ConfigurationError
from lossrecon.geometry import Kink, LineReading, read_line
from lossrecon.grid import detect_grid
from lossrecon.grid import snap as snap_to
from lossrecon.network import ReLUNetwork, as_network
from lossrecon.oracle.counting import CountingOracle
from lossrecon.oracle.protocol import (
    LossConvention,
    convention_of,
    reduction_scale,
    squared_loss_convention,
    validate_oracle,
)
from lossrecon.precision import ROUNDOFF, answer_resolution, decimal_digits, detect_dtype
from lossrecon.reconstruction import Reconstruction, RunStats

__all__ = ["chosen_weights"]

_ZERO_REPEATS = 8  # answers at w = 0 in the probe of an undeclared target (its noise)
_SPAN = 1.25  # each chart line is read on [-_SPAN, _SPAN]; samples with |t| <= 1 stay
_SAFETY = 0.25  # the perturbation uses this share of the room the bracket leaves
# The isolated sample's share of the loss is made this many times the chart loss: the
# rounding of the cancelled far samples then weighs little against it.
_TARGET = 1e6
_RESIDUAL_LIMIT = 1e-8  # relative inconsistency beyond which a sample is rejected
_DYNAMIC_RANGE = 1e-9  # kinks fainter than this share of the median are not isolated
_BLOCK = 512  # samples per block in vectorised all-pairs checks
_SCREEN = 1e3  # a bracket whose hat value is off the chart's estimate by this factor fails
_PASSES = 6  # chart passes at most
_PEEL_NOISE = 1e-9  # relative error assumed of a recovered sample's share of the loss
_SAME_KINK = 1e-9  # a kink this close to a known sample's hyperplane is that sample
# An upside-down sample leaves a kink without an E' jump, located only as a double root:
# it is matched to the nearest known hyperplane within this many mean spacings.
_NEAR_KINK = 2.0
_SIGNATURE = 0.1  # relative tolerance on the jumps of an upside-down sample's kink


@dataclass(frozen=True)
class _Chart:
    """Two lines through the plane of P and Q: side 0 is P + tQ, side 1 is Q + tP."""

    p: np.ndarray
    q: np.ndarray

    def line(self, side: int) -> tuple[np.ndarray, np.ndarray]:
        return (self.p, self.q) if side == 0 else (self.q, self.p)

    def place(self, coords: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Side, position and Q_side · a of known inputs (k, n'), each with |t| <= 1."""
        pa, qa = coords @ self.p, coords @ self.q
        side = (np.abs(pa) > np.abs(qa)).astype(int)
        with np.errstate(divide="ignore", invalid="ignore"):
            position = np.where(side == 0, -pa / qa, -qa / pa)
        return side, np.nan_to_num(position), np.where(side == 0, qa, pa)


@dataclass
class _Samples:
    """Everything one pass knows about the samples' hyperplanes in its chart.

    ``side``, ``position`` (t_j on that side's line) and ``sigma`` (Q_side · a_j, signed)
    for every sample, measured or known; ``beta`` estimates v0 · b_j; ``measure`` marks
    the kinks this pass isolates (the others are known samples, kept as neighbours).
    """

    chart: _Chart
    side: np.ndarray
    position: np.ndarray
    sigma: np.ndarray
    beta: np.ndarray
    measure: np.ndarray

    def __len__(self) -> int:
        return len(self.side)

    def on_side(self, side: int) -> tuple[np.ndarray, np.ndarray]:
        """Every sample's position and sigma seen on the given side's line."""
        same = self.side == side
        with np.errstate(divide="ignore"):
            flipped = np.where(self.position != 0, 1.0 / self.position, np.inf)
        position = np.where(same, self.position, flipped)
        sigma = np.where(same, self.sigma, -self.position * self.sigma)
        return position, sigma


@dataclass
class _Isolation:
    """The brackets of the samples being measured.

    ``index`` picks them out of the pass's samples; ``gap`` holds every sample's
    bracket room (the distance to its nearest neighbour on its line, at most 1);
    ``amplitude`` scales rows and outputs of their coordinate queries; ``beta`` is
    v0 · b_j, first as the chart estimates it, later exact. Each sample's output
    direction is ±v0, oriented once (``orient``) so that its v · b_j <= 0: then the hat
    value is the one nonnegative root of its quadratic.
    """

    samples: _Samples
    index: np.ndarray
    gap: np.ndarray
    amplitude: np.ndarray
    beta: np.ndarray
    orient: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        self.orient = np.where(self.beta > 0, -1.0, 1.0)

    @property
    def own_gap(self) -> np.ndarray:
        return self.gap[self.index]

    @property
    def sign(self) -> np.ndarray:
        """sign(Q · a_j) from the chart: how ε e_k moves the hat value."""
        return np.sign(self.samples.sigma[self.index])

    def output_direction(self, v0: np.ndarray) -> np.ndarray:
        return self.orient[:, None] * v0[None, :]

    def subset(self, keep: np.ndarray) -> _Isolation:
        kept = _Isolation(
            self.samples, self.index[keep], self.gap, self.amplitude[keep], self.beta[keep]
        )
        kept.orient = self.orient[keep]
        return kept


@dataclass
class _Known:
    """Samples recovered so far, in augmented coordinates (bias last when present)."""

    coords: np.ndarray
    labels: np.ndarray
    residual: np.ndarray

    def add(self, coords: np.ndarray, labels: np.ndarray, residual: np.ndarray) -> None:
        self.coords = np.vstack([self.coords, coords])
        self.labels = np.vstack([self.labels, labels])
        self.residual = np.concatenate([self.residual, residual])

    def drop(self, wrong: np.ndarray) -> None:
        keep = np.ones(len(self.coords), dtype=bool)
        keep[wrong] = False
        self.coords, self.labels = self.coords[keep], self.labels[keep]
        self.residual = self.residual[keep]


class _Attack:
    """State of one chosen-weights attack; ``run`` does the work."""

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
        self.router = Router(net, 3)
        self.dim = self.router.input_dim
        self._kappa = kappa
        self.rng = rng
        self.progress = progress
        self.v0 = self._unit(rng.normal(size=net.n_outputs))
        self.stats = RunStats(attack="chosen_weights", method="hat", loss="squared")
        self.loss_scale = 0.0
        self.found = 0
        self.kinks_seen = 0

    @property
    def kappa(self) -> float:
        """The loss's factor c (loss = c sum_i ||b_i - F(a_i)||^2), once it is known."""
        if self._kappa is None:
            raise AssertionError("the loss's factor is estimated from the first chart")
        return self._kappa

    @staticmethod
    def _unit(x: np.ndarray) -> np.ndarray:
        return x / np.linalg.norm(x)

    def _random_chart(self) -> _Chart:
        p = self._unit(self.rng.normal(size=self.dim))
        q = self.rng.normal(size=self.dim)
        return _Chart(p, self._unit(q - (q @ p) * p))

    def _report(self, phase: str) -> None:
        if self.progress is not None:
            self.progress(phase, self.oracle.queries, self.found)

    def ask(self, W: np.ndarray, phase: str) -> np.ndarray:
        """The oracle's answers to W (K, N), counted under ``phase``."""
        phases = self.stats.queries_by_phase
        phases[phase] = phases.get(phase, 0) + len(W)
        return self.oracle(W)

    def query(
        self, rows: np.ndarray, outputs: np.ndarray, phase: str
    ) -> tuple[np.ndarray, np.ndarray]:
        """Losses and squared weight norms for (K, 3, n') rows and (K, 3, d) outputs."""
        W = self.router.weights(rows, outputs)
        return self.ask(W, phase), np.einsum("kn,kn->k", W, W)

    def line_weights(self, p: np.ndarray, q: np.ndarray, t: np.ndarray) -> np.ndarray:
        """Weight vectors routing the single row p + t q along v0."""
        rows = np.zeros((len(t), 3, self.dim))
        rows[:, 0] = p + t[:, None] * q
        outputs = np.zeros((len(t), 3, self.net.n_outputs))
        outputs[:, 0] = self.v0
        return self.router.weights(rows, outputs)

    def shares(
        self,
        p: np.ndarray,
        q: np.ndarray,
        t: np.ndarray,
        coords: np.ndarray,
        labels: np.ndarray,
    ) -> np.ndarray:
        """Each sample's share of the loss along p + t q: an array (T, k)."""
        s = (coords @ p)[None, :] + t[:, None] * (coords @ q)[None, :]
        phi = self.router.gain * np.maximum(s, 0) + self.router.slope * s
        return self.kappa * (phi**2 - 2 * phi * (labels @ self.v0)[None, :])

    # -- 1. the chart -------------------------------------------------------------
    def read_side(self, chart: _Chart, side: int, known: _Known) -> LineReading:
        """Read one chart line, minus the shares of every known sample."""
        p, q = chart.line(side)
        noise = None
        if len(known.coords):
            grid = np.linspace(-_SPAN, _SPAN, 257)
            known_share = np.abs(self.shares(p, q, grid, known.coords, known.labels)).sum(1)
            noise = 1e-13 * self.loss_scale + _PEEL_NOISE * float(known_share.max())

        def along(t: np.ndarray) -> np.ndarray:
            losses = self.ask(self.line_weights(p, q, t), "chart")
            self._report("chart")
            if len(known.coords):
                losses = losses - self.shares(p, q, t, known.coords, known.labels).sum(1)
            return losses

        reading = read_line(along, -_SPAN, _SPAN, noise=noise)
        if not len(known.coords):
            self.loss_scale = max(self.loss_scale, float(np.max(np.abs(reading.values))))
        if reading.noisy:
            self.stats.warnings.append(
                "the loss along a chart line never settles on quadratic pieces: noise, "
                "rounding or a smooth activation (a defense?) hides its kinks"
            )
        elif reading.unresolved:
            self.stats.warnings.append(
                f"{len(reading.unresolved)} stretches of a chart line held kinks too close "
                "together to separate; samples there may be missing"
            )
        return reading

    def kink_estimates(self, kinks: list[tuple[int, Kink]]) -> tuple[np.ndarray, ...]:
        """Side, position, Q · a and v0 · b estimated from each kink's jumps."""
        side = np.array([s for s, _ in kinks], dtype=int)
        position = np.array([k.t for _, k in kinks])
        d1 = np.array([k.d1 for _, k in kinks])
        d2 = np.array([k.d2 for _, k in kinks])
        square = self.router.gain**2 + 2 * self.router.gain * self.router.slope
        sigma_abs = np.sqrt(np.abs(d2) / (2 * self.kappa * abs(square)))
        sigma = np.sign(d2) * np.sign(square) * sigma_abs
        with np.errstate(divide="ignore", invalid="ignore"):
            beta = np.nan_to_num(-d1 / (2 * self.kappa * self.router.gain * sigma_abs))
        return side, position, sigma, beta

    def chart_samples(
        self, chart: _Chart, readings: list[LineReading], known: _Known
    ) -> tuple[_Samples, int]:
        """The pass's samples: its kinks (to measure) and the known samples (neighbours).

        A kink on a known sample's hyperplane means that sample was recovered wrong. If
        its input is upside down, the kink is exactly the difference of the two signs: E'
        does not jump and E'' jumps by -2 times the sample's own jump; the sample is then
        negated in place. Otherwise (a wrong input or label) it is dropped from ``known``
        and measured again from the kink. Either way the readings are corrected for the
        change, so that they show the loss minus the shares of ``known`` as it now is.
        Returns the samples and how many known samples were negated or dropped.
        """
        kinks = [
            (side, k)
            for side, reading in enumerate(readings)
            for k in reading.kinks
            if abs(k.t) < 1.0 or (side == 0 and abs(k.t) == 1.0)
        ]
        self.kinks_seen = len(kinks)
        if self._kappa is None:
            self._kappa = 1.0 / (max(len(kinks), 1) * self.net.n_outputs)
            self.stats.warnings.append(
                f"reduction 'mean' without n_samples: assumed M = {len(kinks)} (the kinks "
                "found); duplicates would make every scale wrong by the same factor"
            )
        known_side, known_position, known_sigma = chart.place(known.coords)
        square = self.router.gain**2 + 2 * self.router.gain * self.router.slope
        own_d2 = 2 * self.kappa * square * np.sign(known_sigma) * known_sigma**2
        own_d1 = 2 * self.kappa * self.router.gain * np.abs(known_sigma * (known.labels @ self.v0))
        spacing = 2 * _SPAN / max(len(known.coords), 1)
        negate = np.zeros(len(known.coords), dtype=bool)
        drop = np.zeros(len(known.coords), dtype=bool)
        measure = []
        for kink_side, kink in kinks:
            distance = np.where(known_side == kink_side, np.abs(known_position - kink.t), np.inf)
            mismatch = np.abs(kink.d2 + 2 * own_d2) / np.maximum(np.abs(2 * own_d2), 1e-300)
            mismatch[(distance > _NEAR_KINK * spacing) | negate] = np.inf
            j = int(np.argmin(mismatch)) if len(mismatch) else -1
            if j >= 0 and mismatch[j] <= _SIGNATURE and abs(kink.d1) <= _SIGNATURE * own_d1[j]:
                negate[j] = True
                continue
            nearest = int(np.argmin(distance)) if len(distance) else -1
            if nearest >= 0 and distance[nearest] <= _SAME_KINK * (1 + abs(kink.t)):
                drop[nearest] = True
            measure.append((kink_side, kink))
        drop &= ~negate
        before = (known.coords.copy(), known.labels)
        known.coords[negate] *= -1
        self.correct_readings(chart, readings, before, (known.coords, known.labels), ~drop)
        known.drop(np.flatnonzero(drop))
        known_side, known_position, known_sigma = chart.place(known.coords)
        side, position, sigma, beta = self.kink_estimates(measure)
        samples = _Samples(
            chart,
            np.concatenate([side, known_side]),
            np.concatenate([position, known_position]),
            np.concatenate([sigma, known_sigma]),
            np.concatenate([beta, known.labels @ self.v0]),
            np.concatenate([np.ones(len(side), bool), np.zeros(len(known_side), bool)]),
        )
        return samples, int(negate.sum() + drop.sum())

    def correct_readings(
        self,
        chart: _Chart,
        readings: list[LineReading],
        before: tuple[np.ndarray, np.ndarray],
        after: tuple[np.ndarray, np.ndarray],
        keep: np.ndarray,
    ) -> None:
        """Re-base readings taken with the shares of ``before`` subtracted onto ``after``
        restricted to ``keep`` (same rows; negated rows differ)."""
        changed = keep & np.any(before[0] != after[0], axis=1) | ~keep
        if not changed.any():
            return
        for side, reading in enumerate(readings):
            p, q = chart.line(side)
            old = self.shares(p, q, reading.t, before[0][changed], before[1][changed]).sum(1)
            new_rows = changed & keep
            new = self.shares(p, q, reading.t, after[0][new_rows], after[1][new_rows]).sum(1)
            reading.values = reading.values + old - new

    # -- baseline: C and weight decay --------------------------------------------
    def calibrate(self, scale: float) -> tuple[float, float]:
        """C and λ from queries whose first layer is 0 (so F = 0)."""
        rows = np.zeros((3, 3, self.dim))
        outputs = np.zeros((3, 3, self.net.n_outputs))
        outputs[1] = scale
        outputs[2] = scale / np.sqrt(3.0)
        losses, norms = self.query(rows, outputs, "calibration")
        slope = 2 * (losses[1] - losses[0]) / (norms[1] - norms[0])
        predicted = losses[0] + 0.5 * slope * (norms[2] - norms[0])
        tolerance = 1e-9 * max(abs(losses[1]), abs(losses[0]), 1e-300)
        if abs(predicted - losses[2]) > tolerance:
            self.stats.warnings.append(
                "the loss at F = 0 is not affine in ||w||^2: the regularizer is not plain "
                "weight decay, and recovered values may be off"
            )
        return float(losses[0] - 0.5 * slope * norms[0]), float(slope)

    # -- 2. isolation brackets ----------------------------------------------------
    @staticmethod
    def brackets(samples: _Samples) -> np.ndarray:
        """Each sample's bracket room: distance to the nearest other kink on its line."""
        gaps = np.empty(len(samples))
        for side in (0, 1):
            position, _ = samples.on_side(side)
            mine = np.flatnonzero(samples.side == side)
            ordered = np.sort(position)
            rank = np.searchsorted(ordered, position[mine])
            left = np.where(rank > 0, position[mine] - ordered[np.maximum(rank - 1, 0)], np.inf)
            right_index = np.minimum(rank + 1, len(ordered) - 1)
            right = np.where(rank + 1 < len(ordered), ordered[right_index] - position[mine], np.inf)
            gaps[mine] = np.minimum(left, right)
        return np.minimum(gaps, 1.0)

    def hat_rows(
        self,
        isolated: _Isolation,
        scale: np.ndarray | float,
        direction: np.ndarray | None = None,
        epsilon: np.ndarray | None = None,
    ) -> np.ndarray:
        """(K, 3, n') rows of the brackets, moved by ε_j e_k if given, times ``scale``.

        Bracket j spans (t_j - g_j/2, t_j + g_j/6) with w_b in the middle; sample j's hat
        value is |Q · a_j| g_j / 6 whatever its sign.
        """
        samples, index, gap = isolated.samples, isolated.index, isolated.own_gap
        lines = [samples.chart.line(side) for side in (0, 1)]
        sides = samples.side[index]
        p = np.where(sides[:, None] == 0, lines[0][0], lines[1][0])
        q = np.where(sides[:, None] == 0, lines[0][1], lines[1][1])
        t = samples.position[index]
        thetas = np.stack([t - gap / 2, t - gap / 6, t + gap / 6], axis=1)
        rows = p[:, None, :] + thetas[:, :, None] * q[:, None, :]
        if direction is not None and epsilon is not None:
            rows = rows + epsilon[:, None, None] * direction[None, None, :]
        return rows * np.reshape(scale, (-1, 1, 1))

    @staticmethod
    def hat_outputs(v: np.ndarray, scale: np.ndarray) -> np.ndarray:
        """(K, 3, d) outputs (1, -2, 1) v_j, times ``scale``; v is (K, d)."""
        weights = np.array([1.0, -2.0, 1.0])
        return weights[None, :, None] * v[:, None, :] * np.reshape(scale, (-1, 1, 1))

    def hat_values(
        self,
        losses: np.ndarray,
        norms: np.ndarray,
        baseline: tuple[float, float],
        isolated: _Isolation,
    ) -> np.ndarray:
        """Solve κ (F² - 2 F β) = Δ for F = gain * amplitude² * y, y >= 0 the hat value."""
        base, decay = baseline
        delta = losses - base - 0.5 * decay * norms
        beta = isolated.orient * isolated.beta
        disc = np.maximum(beta**2 + delta / self.kappa, 0.0)
        return (beta + np.sqrt(disc)) / (self.router.gain * isolated.amplitude**2)

    # -- the attack ---------------------------------------------------------------
    def run(self) -> Reconstruction:
        d = self.net.n_outputs
        known = _Known(np.zeros((0, self.dim)), np.zeros((0, d)), np.zeros(0))
        passes = 0
        try:
            for number in range(_PASSES):
                passes = number + 1
                changes = self.one_pass(known)
                if number == 0 and self.kinks_seen == 0:
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
        return self._finish(known)

    def one_pass(self, known: _Known) -> int:
        """Chart, isolate and measure whatever is still missing; add it to ``known``.

        Returns how many samples it added, negated or dropped.
        """
        chart = self._random_chart()
        readings = [self.read_side(chart, side, known) for side in (0, 1)]
        samples, corrected = self.chart_samples(chart, readings, known)
        measured = np.flatnonzero(samples.measure)
        if not len(measured):
            return corrected
        self._report("chart")
        gap = self.brackets(samples)
        y_unit = np.abs(samples.sigma) * gap / 6
        index = measured[y_unit[measured] > _DYNAMIC_RANGE * np.median(y_unit[measured])]
        if len(index) < len(measured):
            self.stats.warnings.append(
                f"{len(measured) - len(index)} kinks are too faint next to the others "
                f"(below {_DYNAMIC_RANGE:g} of the median) to isolate in float64"
            )
        target = np.sqrt(_TARGET * max(self.loss_scale, 1e-300) / self.kappa)
        amplitude = np.sqrt(target / y_unit[index])
        baseline = self.calibrate(float(amplitude.max()))
        isolated = _Isolation(samples, index, gap, amplitude, samples.beta[index])
        isolated, base_answers = self.screen(isolated, y_unit[isolated.index], baseline)
        coords, raw, y0 = self.coordinates(isolated, base_answers, baseline)
        labels = self.labels(isolated, y0, baseline)
        isolated.beta = labels @ self.v0
        y0 = self.hat_values(raw[0][0], raw[0][1], baseline, isolated)
        for k, (losses, norms, epsilon) in enumerate(raw[1:]):
            y = self.hat_values(losses, norms, baseline, isolated)
            coords[:, k] = isolated.sign * (y - y0) / epsilon
        rows = self.hat_rows(isolated, 1.0)[:, 2]
        size = np.linalg.norm(rows, axis=1) * np.linalg.norm(coords, axis=1)
        residual = np.abs(np.abs(np.einsum("kn,kn->k", rows, coords)) - y0) / size
        good = residual <= _RESIDUAL_LIMIT
        known.add(coords[good], labels[good], residual[good])
        self.found = len(known.coords)
        self._report("checked")
        return corrected + int(good.sum())

    def screen(
        self, isolated: _Isolation, expected: np.ndarray, baseline: tuple[float, float]
    ) -> tuple[_Isolation, tuple[np.ndarray, np.ndarray]]:
        """Ask every bracket once, unperturbed, and keep those that isolate one sample.

        A hat value far from the chart's estimate |Q · a_j| g_j / 6 (or not positive)
        means the bracket holds no sample or several (kinks the chart merged). Returns
        the kept brackets and their answers (losses, squared weight norms).
        """
        outputs = self.hat_outputs(isolated.output_direction(self.v0), isolated.amplitude)
        losses, norms = self.query(
            self.hat_rows(isolated, isolated.amplitude), outputs, "isolation"
        )
        y0 = self.hat_values(losses, norms, baseline, isolated)
        with np.errstate(divide="ignore", invalid="ignore"):
            keep = (y0 > 0) & (np.abs(np.log(y0 / expected)) < np.log(_SCREEN))
        return isolated.subset(keep), (losses[keep], norms[keep])

    def coordinates(
        self,
        isolated: _Isolation,
        base_answers: tuple[np.ndarray, np.ndarray],
        baseline: tuple[float, float],
    ) -> tuple[np.ndarray, list, np.ndarray]:
        """Every coordinate of every isolated sample: one batch per coordinate with the
        brackets' rows moved by ε_j e_k, against the unperturbed answers.

        Returns the coordinates, the raw answers of each batch (to re-solve once the
        labels are exact) and the unperturbed hat values.
        """
        m = len(isolated.index)
        outputs = self.hat_outputs(isolated.output_direction(self.v0), isolated.amplitude)
        losses, norms = base_answers
        raw: list[tuple[np.ndarray, np.ndarray, np.ndarray | None]] = [(losses, norms, None)]
        y0 = self.hat_values(losses, norms, baseline, isolated)
        coords = np.zeros((m, self.dim))
        reach = self.reach_estimate(isolated.samples)
        for k in range(self.dim):
            direction = np.zeros(self.dim)
            direction[k] = 1.0
            epsilon = _SAFETY * self.room(isolated, reach)
            rows = self.hat_rows(isolated, isolated.amplitude, direction, epsilon)
            losses, norms = self.query(rows, outputs, "coordinates")
            y = self.hat_values(losses, norms, baseline, isolated)
            coords[:, k] = isolated.sign * (y - y0) / epsilon
            raw.append((losses, norms, epsilon))
            reach[isolated.index] = np.maximum(reach[isolated.index], 4 * np.abs(coords[:, k]))
            self._report("coordinates")
        return coords, raw, y0

    def labels(
        self, isolated: _Isolation, y0: np.ndarray, baseline: tuple[float, float]
    ) -> np.ndarray:
        """Every label component: sample j's bracket with output direction e_m.

        Rows and outputs are scaled so that the hat's output has size about 1; with the
        hat value y0 known, each answer is linear in (b_j)_m.
        """
        base, decay = baseline
        m, d = len(isolated.index), self.net.n_outputs
        scale = 1.0 / np.sqrt(np.maximum(y0, 1e-300))
        rows = self.hat_rows(isolated, scale)
        output = self.router.gain * y0 * scale**2
        labels = np.zeros((m, d))
        for out in range(d):
            direction = np.zeros((m, d))
            direction[:, out] = 1.0
            losses, norms = self.query(rows, self.hat_outputs(direction, scale), "labels")
            delta = losses - base - 0.5 * decay * norms
            labels[:, out] = (self.kappa * output**2 - delta) / (2 * self.kappa * output)
            self._report("labels")
        return labels

    def reach_estimate(self, samples: _Samples) -> np.ndarray:
        """A generous first guess of max_k |e_k · a_j| per sample, from its two chart
        projections |Q · a_j| and |P · a_j| = |t_j Q · a_j|."""
        known = np.abs(samples.sigma) * np.hypot(1.0, samples.position)
        return 10.0 * np.sqrt(self.dim) * known

    def room(self, isolated: _Isolation, reach: np.ndarray) -> np.ndarray:
        """Largest ε per measured sample that keeps its own pattern and keeps every other
        kink out of its bracket, if no |e_k · a_i| exceeds ``reach`` (one per sample)."""
        samples, gap = isolated.samples, isolated.gap
        room = np.empty(len(isolated.index))
        for side in (0, 1):
            slots = np.flatnonzero(samples.side[isolated.index] == side)
            position, sigma = samples.on_side(side)
            mobility = reach / np.maximum(np.abs(sigma), 1e-300)
            for block in np.array_split(slots, max(1, len(slots) // _BLOCK)):
                j = isolated.index[block]
                distance = np.abs(position[None, :] - position[j, None])
                distance[np.arange(len(j)), j] = np.inf
                half = gap[j, None] / 2
                allowed = np.maximum(distance - half, half) / mobility[None, :]
                own = np.abs(sigma[j]) * gap[j] / 6 / reach[j]
                room[block] = np.minimum(own, allowed.min(axis=1))
        return room

    def _finish(self, known: _Known) -> Reconstruction:
        inputs, targets = known.coords, known.labels
        self.stats.residuals = known.residual
        if self.net.bias:
            scale = inputs[:, -1].copy()
            inputs = inputs[:, :-1] / scale[:, None]
            targets = targets / scale[:, None]
            self.stats.multiplicity = scale**2
        emit(self.stats, stacklevel=4)
        return Reconstruction(
            inputs=inputs,
            targets=targets,
            scale_known=True,
            widths=list(self.net.widths),
            queries=self.oracle.queries,
            stats=self.stats,
        )


def chosen_weights(
    oracle: object,
    widths: Sequence[int] | ReLUNetwork,
    *,
    activation: str | Activation = "relu",
    bias: bool = False,
    budget: int | None = None,
    reduction: str | None = None,
    n_samples: int | None = None,
    method: str = "auto",
    snap: bool = False,
    pack: bool = True,
    random_state: int | np.random.Generator | None = 0,
    progress: Progress | None = None,
    **activation_params: Any,
) -> Reconstruction:
    """Recover every training input and its label exactly from a loss oracle.

    The attacker knows the architecture — ``widths`` as a :class:`ReLUNetwork`, or as
    the widths list with ``activation`` and ``bias`` — and may evaluate the loss at any
    weights. Two methods (``method``: "auto" picks the first the architecture allows,
    and ``stats.method`` says which ran):

    - "gates" (ReLU, two or more hidden layers, the first of width >= 4 with biases,
      >= 5 without): exact at the client's own precision — float64 to bfloat16, squared
      loss or cross-entropy, whose kind and arithmetic it reads off the answers when the
      oracle does not declare them; ``stats.input_error_bounds`` bounds each input's
      error. Without biases: squared loss in float32 or float64, scaled by ``reduction``
      (declared, else "mean"); "auto" gives a bias-free network the hat when the oracle
      declares an exact float64 squared loss.
    - "hat" (every hidden layer with room for three parallel paths, any activation):
      exact on a float64 squared loss; ``reduction`` and ``n_samples`` override what the
      oracle declares (with "mean", M fixes the scale).

    ``snap`` rounds the inputs to the coarsest grid 1/q they all lie on, if any
    (``stats.grid``; digits: 1/16). ``pack`` (gates): once the first samples show their
    inputs lie on a grid, read several coordinates per query (``stats.packed``,
    ``stats.pack_grid``; ``stats.bits_limit`` is the fewest queries the data allow).
    ``progress(phase, queries, samples)`` is called as the attack goes. Returns exact
    inputs and labels (``scale_known``; cross-entropy labels as one-hot rows);
    ``stats`` holds the checks, the warnings and, with biases, each sample's
    multiplicity. Failures follow :mod:`lossrecon.attacks.contract`.
    """
    n_params = validate_oracle(oracle)
    net = as_network(widths, activation, bias, **activation_params)
    if net.n_params != n_params:
        raise ConfigurationError(
            f"{net} has N = {net.n_params} weights, but the oracle takes N = {n_params}"
        )
    if method not in ("auto", "gates", "hat"):
        raise ConfigurationError(f"method must be 'auto', 'gates' or 'hat', got {method!r}")
    unfit = gates_fit(net)
    if method == "gates" and unfit is not None:
        raise ConfigurationError(unfit)
    rng = np.random.default_rng(random_state)
    declared = convention_of(oracle).overridden(reduction=reduction, n_samples=n_samples)
    if method == "auto" and unfit is None and not net.bias:
        # Bias-free: the hat where the oracle declares an exact float64 squared loss (it
        # reads samples of both signs whole; the gates can miss those near their anchor's
        # plane); the gates read every other, the client's arithmetic read off the answers.
        exact = declared.dtype == "float64" and declared.loss in (None, "squared")
        method = "hat" if exact else "gates"
    if method != "hat" and unfit is None:
        counted = CountingOracle(oracle, budget, overflow=True)
        rec = _through_gates(counted, net, declared, rng, progress, pack)
        return _snapped(rec) if snap else rec
    if declared.loss == "cross_entropy":
        raise ConfigurationError(
            "the oracle's loss is 'cross_entropy', which only exact gates read, and "
            f"{unfit or 'method is hat'}"
        )
    convention, m = squared_loss_convention(oracle, "chosen-weights", reduction, n_samples)
    kappa = None
    if convention != "mean" or m is not None:
        kappa = reduction_scale(convention, m or 1, net.n_outputs)
    attack = _Attack(CountingOracle(oracle, budget), net, kappa, rng, progress)
    if declared.dtype not in (None, "float64"):
        attack.stats.warnings.append(
            f"the hat reads float64 losses, the oracle computes in {declared.dtype}; "
            f"exact gates would read it, but {unfit}"
        )
    rec = attack.run()
    return _snapped(rec) if snap else rec


def _snapped(rec: Reconstruction) -> Reconstruction:
    """The inputs and the labels on the grids they lie on, when there are
    (``stats.grid``, ``stats.target_grid``); a number whose error bound leaves its grid
    point in doubt stays as read."""
    stats = rec.stats
    stats.grid = detect_grid(rec.inputs, stats.input_error_bounds)
    if stats.grid is not None:
        rec.inputs = snap_to(rec.inputs, stats.grid, stats.input_error_bounds)
    if rec.targets is not None:
        stats.target_grid = detect_grid(rec.targets, stats.target_error_bounds)
        if stats.target_grid is not None:
            rec.targets = snap_to(rec.targets, stats.target_grid, stats.target_error_bounds)
    return rec


def _through_gates(
    oracle: CountingOracle,
    net: ReLUNetwork,
    declared: LossConvention,
    rng: np.random.Generator,
    progress: Progress | None,
    pack: bool,
) -> Reconstruction:
    """The chosen-weights attack by exact gates (see :mod:`lossrecon.attacks.gates`)."""
    stats = RunStats(attack="chosen_weights", method="gates")
    n, d = net.n_inputs, net.n_outputs
    found = (np.zeros((0, n)), np.zeros((0, d)))
    scale_known = True

    def ask(W: np.ndarray, phase: str) -> np.ndarray:
        stats.queries_by_phase[phase] = stats.queries_by_phase.get(phase, 0) + len(W)
        answers = oracle(W)
        if progress is not None:
            progress(phase, oracle.queries, 0)
        return answers

    try:
        stats.loss, stats.dtype, digits, closed, ceiling = _target(ask, net, declared, rng)
        if digits is not None:
            stats.warnings.append(f"the answers are rounded to {digits} significant digits")
        if ceiling is not None:
            stats.warnings.append(f"the answers are clipped at {ceiling:.6g}")
        result = gated_read(
            ask,
            net,
            loss=stats.loss,
            dtype=stats.dtype,
            rng=rng,
            n_samples=declared.n_samples,
            digits=digits,
            closed=closed,
            ceiling=ceiling,
            pack=pack,
            reduction=declared.reduction,
        )
        stats.warnings += result.warnings
        stats.multiplicity = result.multiplicity
        stats.input_error_bounds = result.input_bounds
        stats.target_error_bounds = result.target_bounds
        stats.packed = result.packed
        grid = result.grid
        if grid is not None and grid.per_feature:
            stats.pack_feature_grids = grid.describe()
        elif grid is not None:
            stats.pack_grid = [float(grid.step), grid.low, grid.high]
        stats.bits_limit = _bits_limit(
            len(result.inputs), n, d, stats.loss, stats.dtype, grid, result.label_grid
        )
        stats.checks_failed = result.failed
        stats.reduction = result.reduction or _reduction(
            stats.loss, result.kappa, result.multiplicity.sum(), d, result.kappa_error
        )
        found = (result.inputs, result.targets)
        scale_known = result.scale_known
    except EARLY_STOPS as exc:
        stats.stopped = stop_reason(exc)
        stats.warnings.append(f"stopped early: {exc}")
    emit(stats, stacklevel=4)
    return Reconstruction(found[0], found[1], scale_known, list(net.widths), oracle.queries, stats)


def _target(
    ask: Callable[[np.ndarray, str], np.ndarray],
    net: ReLUNetwork,
    declared: LossConvention,
    rng: np.random.Generator,
) -> tuple[str, str, int | None, np.ndarray, float | None]:
    """The loss kind, the client's arithmetic, the digits its answers are rounded to, the
    answers at w = 0 and the ceiling the client clips its loss at (None: not clipped):
    declared, or read off the answers. The loss at w = 0 is exactly M log d or log d for
    cross-entropy; a float32 loss is a float32 number; a rounded one has few digits; the
    spread of the repeats at w = 0 is the noise; and random weights scaled up until the
    loss is huge answer one same value if the client clips it (or inf past its range)."""
    zeros = _ZERO_REPEATS
    random = net.random_weights(8, random_state=rng)
    loud = random[:4] * (10.0 ** np.arange(1, 5))[:, None]
    probe = np.vstack([np.zeros((zeros, net.n_params)), random, loud])
    answers = ask(probe, "target")
    finite = answers[np.isfinite(answers)]
    dtype = declared.dtype or detect_dtype(finite)
    digits = decimal_digits(finite[zeros:])
    if digits is not None and 10.0 ** (1 - digits) < ROUNDOFF[dtype]:
        digits = None  # finer than the format: its numbers are short, not rounded
    at_zero = answers[:zeros]
    if not np.all(np.isfinite(at_zero)):
        raise AttackError(f"the loss at w = 0 is not finite: {at_zero}")
    closed = float(np.median(at_zero))
    noise = float(np.std(at_zero) / max(abs(closed), 1e-300))
    resolution = answer_resolution(dtype, digits, noise)
    loss: str | None = declared.loss
    if loss is None:
        loss = "squared"  # one output: no classes, and log d = 0
        if net.n_outputs >= 2:
            ratio = closed / np.log(net.n_outputs)
            whole = round(ratio) >= 1 and abs(ratio - round(ratio)) <= resolution * ratio
            loss = "cross_entropy" if whole else "squared"
    top = float(finite.max())
    ceiling = None
    if top > closed * (1.0 + 8.0 * resolution) and np.sum(finite == top) >= 2:
        ceiling = top
    return loss, dtype, digits, at_zero, ceiling


def _bits_limit(
    m: int,
    n: int,
    d: int,
    loss: str | None,
    dtype: str | None,
    grid: PackGrid | None,
    label_grid: PackGrid | None = None,
) -> float | None:
    """The fewest queries that could carry M samples' inputs and labels: their bits over
    one answer's (its format's mantissa). A number off any grid counts as a whole answer's
    bits; a cross-entropy label as log2 d, a squared-loss label on a grid as d times its
    grid's bits."""
    if dtype is None or not m:
        return None
    answer = mantissa_bits(dtype)
    per_input = answer if grid is None else grid.bits
    if loss == "cross_entropy":
        per_label = float(np.log2(d))
    else:
        per_label = d * (answer if label_grid is None else label_grid.bits)
    return float(m * (n * per_input + per_label) / answer)


def _reduction(loss: str, kappa: float, m: float, d: int, error: float) -> str | None:
    """The reduction a measured loss factor κ means, given the M samples found and κ's
    relative error (None when no sample was found)."""
    if m <= 0:
        return None
    candidates = {"sum": 1.0, "mean": 1.0 / m if loss == "cross_entropy" else 1.0 / (m * d)}
    if loss == "squared":
        candidates["half_sum"] = 0.5
    for name, value in candidates.items():
        if abs(kappa - value) <= max(1e-3, 4.0 * error) * value:
            return name
    return None

"""Exact inputs and labels when the attacker knows the architecture and chooses the weights.

The method (docs/chosen-weights.md has the derivation):

1. **Chart.** Route one unit, first-layer row P + tQ, to the output and read the loss
   along t (two lines, (P, Q) and (Q, P), so every sample's hyperplane is met once). Each
   kink is a sample: its position t_j is where (P + t_j Q) · a_j = 0, and the jumps of E'
   and E'' give sign(Q · a_j) and rough sizes of Q · a_j and v · b_j.
2. **Isolation.** Three paths with rows w_a, w_b = (w_a + w_c)/2, w_c and outputs
   (1, -2, 1) v give F(a) = v * (relu(w_a·a) - 2 relu(w_b·a) + relu(w_c·a)), which is 0
   for every sample whose hyperplane lies outside the bracket (θ_a, θ_c) of the chart.
   A bracket around t_j alone makes the loss depend on sample j only:
   E = C + λ/2 ||w||² + κ (||ν y v||² - 2 ν y v·b_j), one equation for the hat value y.
3. **Coordinates.** Adding ε e_k to the three rows adds ±ε (e_k · a_j) to y: one query
   per sample and coordinate, plus one unperturbed query per sample.
4. **Labels.** With a_j known, y is known, and the same isolated query with output
   direction e_m gives (b_j)_m exactly: one query per label component.

C (the loss at F = 0) and the weight-decay strength λ come from three queries with a
zero first layer. Every query of a phase goes to the oracle as one batch.
"""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from lossrecon.attacks.routing import Router
from lossrecon.errors import ConfigurationError
from lossrecon.geometry import read_line
from lossrecon.network import ReLUNetwork
from lossrecon.oracle.counting import CountingOracle, validate_oracle
from lossrecon.oracle.protocol import reduction_of, reduction_scale
from lossrecon.reconstruction import Reconstruction

__all__ = ["chosen_weights"]

Progress = Callable[[str, int, int], None]

_SPAN = 1.25  # each chart line is read on [-_SPAN, _SPAN]; samples with |t| <= 1 stay
_SAFETY = 0.25  # the perturbation uses this share of the room the bracket leaves
# The isolated sample's share of the loss is made this many times the chart loss: the
# rounding of the cancelled far samples then weighs little against it.
_TARGET = 1e6
_SIGN_SPACINGS = 2.0  # a sign is decided on this many mean kink spacings each side
_SIGN_GROUP = 6  # at most this many nearby kinks share a sign decision
_RESIDUAL_LIMIT = 1e-8  # relative inconsistency beyond which a sample is rejected
_DYNAMIC_RANGE = 1e-9  # kinks fainter than this share of the median are not isolated
_SCREEN = 1e3  # a bracket whose hat value is off the chart's estimate by this factor fails


@dataclass
class _Samples:
    """What the chart lines say about each sample j (one entry per kink).

    ``chart`` 0 means the line P + tQ, 1 the line Q + tP; ``position`` is t_j there;
    ``sigma`` estimates Q_c · a_j (signed); ``beta`` estimates v0 · b_j.
    """

    chart: np.ndarray
    position: np.ndarray
    sigma: np.ndarray
    beta: np.ndarray

    def __len__(self) -> int:
        return len(self.chart)

    def in_chart(self, chart: int) -> tuple[np.ndarray, np.ndarray]:
        """Every sample's position and sigma seen in the given chart."""
        same = self.chart == chart
        with np.errstate(divide="ignore"):
            flipped = np.where(self.position != 0, 1.0 / self.position, np.inf)
        position = np.where(same, self.position, flipped)
        sigma = np.where(same, self.sigma, -self.position * self.sigma)
        return position, sigma


@dataclass
class _Isolation:
    """The brackets of the samples being measured.

    ``index`` picks them out of the chart's samples; ``gap`` holds every sample's
    bracket room (the distance to its nearest neighbour in its chart, at most 1);
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

    def __post_init__(self) -> None:
        self.orient = np.where(self.beta > 0, -1.0, 1.0)

    @property
    def own_gap(self) -> np.ndarray:
        return self.gap[self.index]

    @property
    def sign(self) -> np.ndarray:
        """sign(Q_c · a_j) from the chart: how ε e_k moves the hat value."""
        return np.sign(self.samples.sigma[self.index])

    def output_direction(self, v0: np.ndarray) -> np.ndarray:
        return self.orient[:, None] * v0[None, :]


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
        self.kappa = kappa
        self.rng = rng
        self.progress = progress
        self.charts = self._random_charts()
        self.v0 = self._unit(rng.normal(size=net.n_outputs))
        self.warnings: list[str] = []
        self.loss_scale = 0.0
        self.readings: list = []

    @staticmethod
    def _unit(x: np.ndarray) -> np.ndarray:
        return x / np.linalg.norm(x)

    def _random_charts(self) -> list[tuple[np.ndarray, np.ndarray]]:
        p = self._unit(self.rng.normal(size=self.dim))
        q = self.rng.normal(size=self.dim)
        q = self._unit(q - (q @ p) * p)
        return [(p, q), (q, p)]

    def _report(self, phase: str, found: int) -> None:
        if self.progress is not None:
            self.progress(phase, self.oracle.queries, found)

    def query(self, rows: np.ndarray, outputs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Losses and squared weight norms for (K, 3, n') rows and (K, 3, d) outputs."""
        W = self.router.weights(rows, outputs)
        return self.oracle(W), np.einsum("kn,kn->k", W, W)

    # -- 1. the chart -------------------------------------------------------------
    def read_chart(self, chart: int) -> list:
        p, q = self.charts[chart]

        def along(t: np.ndarray) -> np.ndarray:
            rows = np.zeros((len(t), 3, self.dim))
            rows[:, 0] = p + t[:, None] * q
            outputs = np.zeros((len(t), 3, self.net.n_outputs))
            outputs[:, 0] = self.v0
            losses, _ = self.query(rows, outputs)
            self._report("chart", 0)
            return losses

        reading = read_line(along, -_SPAN, _SPAN)
        self.readings.append(reading)
        self.loss_scale = max(self.loss_scale, float(np.max(np.abs(reading.values))))
        if reading.unresolved:
            self.warnings.append(
                f"{len(reading.unresolved)} stretches of chart line {chart} held kinks too "
                "close together to separate; samples there may be missing"
            )
        return reading.kinks

    def chart_samples(self) -> _Samples:
        kinks = [self.read_chart(0), self.read_chart(1)]
        chart, position, d1, d2 = [], [], [], []
        for c, found in enumerate(kinks):
            for k in found:
                if abs(k.t) < 1.0 or (c == 0 and abs(k.t) == 1.0):
                    chart.append(c)
                    position.append(k.t)
                    d1.append(k.d1)
                    d2.append(k.d2)
        chart_arr = np.array(chart, dtype=int)
        d1_arr, d2_arr = np.array(d1), np.array(d2)
        if self.kappa is None:
            self.kappa = 1.0 / (max(len(chart), 1) * self.net.n_outputs)
            self.warnings.append(
                f"reduction 'mean' without n_samples: assumed M = {len(chart)} (the kinks "
                "found); duplicates would make every scale wrong by the same factor"
            )
        square = 1.0 - self.router.slope**2
        sigma_abs = np.sqrt(np.abs(d2_arr) / (2 * self.kappa * abs(square)))
        sigma = np.sign(d2_arr) * np.sign(square) * sigma_abs
        with np.errstate(divide="ignore", invalid="ignore"):
            beta = -d1_arr / (2 * self.kappa * self.router.gain * sigma_abs)
        return _Samples(chart_arr, np.array(position), sigma, np.nan_to_num(beta))

    # -- baseline: C and weight decay --------------------------------------------
    def calibrate(self, scale: float) -> tuple[float, float]:
        """C and λ from queries whose first layer is 0 (so F = 0)."""
        rows = np.zeros((3, 3, self.dim))
        outputs = np.zeros((3, 3, self.net.n_outputs))
        outputs[1] = scale
        outputs[2] = scale / np.sqrt(3.0)
        losses, norms = self.query(rows, outputs)
        slope = 2 * (losses[1] - losses[0]) / (norms[1] - norms[0])
        predicted = losses[0] + 0.5 * slope * (norms[2] - norms[0])
        tolerance = 1e-9 * max(abs(losses[1]), abs(losses[0]), 1e-300)
        if abs(predicted - losses[2]) > tolerance:
            self.warnings.append(
                "the loss at F = 0 is not affine in ||w||^2: the regularizer is not plain "
                "weight decay, and recovered values may be off"
            )
        return float(losses[0] - 0.5 * slope * norms[0]), float(slope)

    # -- 2. isolation brackets ----------------------------------------------------
    def brackets(self, samples: _Samples) -> np.ndarray:
        """Each sample's bracket room: distance to the nearest other kink in its chart."""
        gaps = np.empty(len(samples))
        for c in (0, 1):
            position, _ = samples.in_chart(c)
            mine = np.flatnonzero(samples.chart == c)
            ordered = np.sort(position)
            rank = np.searchsorted(ordered, position[mine])
            left = np.where(rank > 0, position[mine] - ordered[np.maximum(rank - 1, 0)], np.inf)
            has_right = rank + 1 < len(ordered)
            right = np.where(
                has_right, ordered[np.minimum(rank + 1, len(ordered) - 1)] - position[mine], np.inf
            )
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
        value is |Q_c · a_j| g_j / 6 whatever its sign.
        """
        samples, index, gap = isolated.samples, isolated.index, isolated.own_gap
        charts = samples.chart[index]
        p = np.stack([self.charts[c][0] for c in charts])
        q = np.stack([self.charts[c][1] for c in charts])
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
        base: float,
        decay: float,
        isolated: _Isolation,
    ) -> np.ndarray:
        """Solve κ (F² - 2 F β) = Δ for F = gain * amplitude² * y, y >= 0 the hat value."""
        delta = losses - base - 0.5 * decay * norms
        beta = isolated.orient * isolated.beta
        disc = np.maximum(beta**2 + delta / self.kappa, 0.0)
        return (beta + np.sqrt(disc)) / (self.router.gain * isolated.amplitude**2)

    def run(self) -> Reconstruction:
        samples = self.chart_samples()
        self._report("chart", len(samples))
        if len(samples) == 0:
            warnings.warn(
                "no kinks found: the loss looks smooth along every line read, so this "
                "attack recovers nothing (is the oracle a piecewise-linear network?)",
                stacklevel=3,
            )
            return self._result(np.zeros((0, self.net.n_inputs)), None, {})
        gap = self.brackets(samples)
        y_unit = np.abs(samples.sigma) * gap / 6
        index = np.flatnonzero(y_unit > _DYNAMIC_RANGE * np.median(y_unit))
        if len(index) < len(samples):
            self.warnings.append(
                f"{len(samples) - len(index)} kinks are too faint next to the others "
                f"(below {_DYNAMIC_RANGE:g} of the median) to isolate in float64"
            )
        target = np.sqrt(_TARGET * max(self.loss_scale, 1e-300) / self.kappa)
        amplitude = np.sqrt(target / y_unit[index])
        base, decay = self.calibrate(float(amplitude.max()))
        isolated = _Isolation(samples, index, gap, amplitude, samples.beta[index])
        isolated, base_answers = self.screen(isolated, y_unit[index], base, decay)
        coords, raw, y0 = self.coordinates(isolated, base_answers, base, decay)
        labels = self.labels(isolated, y0, base, decay)
        isolated.beta = labels @ self.v0
        y0 = self.hat_values(*raw[0][:2], base, decay, isolated)
        for k, (losses, norms, epsilon) in enumerate(raw[1:]):
            y = self.hat_values(losses, norms, base, decay, isolated)
            coords[:, k] = isolated.sign * (y - y0) / epsilon
        flips = self.fix_signs(isolated, coords, labels, base, decay)
        rows = self.hat_rows(isolated, 1.0)[:, 2]
        size = np.linalg.norm(rows, axis=1) * np.linalg.norm(coords, axis=1)
        residual = np.abs(np.abs(np.einsum("kn,kn->k", rows, coords)) - y0) / size
        return self._finish(len(samples), coords, labels, residual, flips)

    def screen(
        self, isolated: _Isolation, expected: np.ndarray, base: float, decay: float
    ) -> tuple[_Isolation, tuple[np.ndarray, np.ndarray]]:
        """Ask every bracket once, unperturbed, and keep those that isolate one sample.

        A hat value far from the chart's estimate |Q_c · a_j| g_j / 6 (or not positive)
        means the bracket holds no sample or several (kinks the chart merged). Returns
        the kept brackets and their answers (losses, squared weight norms).
        """
        outputs = self.hat_outputs(isolated.output_direction(self.v0), isolated.amplitude)
        losses, norms = self.query(self.hat_rows(isolated, isolated.amplitude), outputs)
        y0 = self.hat_values(losses, norms, base, decay, isolated)
        with np.errstate(divide="ignore", invalid="ignore"):
            keep = (y0 > 0) & (np.abs(np.log(y0 / expected)) < np.log(_SCREEN))
        if not keep.all():
            self.warnings.append(
                f"{int((~keep).sum())} brackets did not isolate a single sample (kinks the "
                "chart could not separate); those samples are missing"
            )
        kept = _Isolation(
            isolated.samples,
            isolated.index[keep],
            isolated.gap,
            isolated.amplitude[keep],
            isolated.beta[keep],
        )
        return kept, (losses[keep], norms[keep])

    def coordinates(
        self,
        isolated: _Isolation,
        base_answers: tuple[np.ndarray, np.ndarray],
        base: float,
        decay: float,
    ) -> tuple[np.ndarray, list, np.ndarray]:
        """Every coordinate of every isolated sample: one batch per coordinate with the
        brackets' rows moved by ε_j e_k, against the unperturbed answers.

        Returns the coordinates, the raw answers of each batch (to re-solve once the
        labels are exact) and the unperturbed hat values.
        """
        m = len(isolated.index)
        outputs = self.hat_outputs(isolated.output_direction(self.v0), isolated.amplitude)
        losses, norms = base_answers
        raw = [(losses, norms, None)]
        y0 = self.hat_values(losses, norms, base, decay, isolated)
        self._report("coordinates", m)
        coords = np.zeros((m, self.dim))
        reach = self.reach_estimate(isolated.samples)
        for k in range(self.dim):
            direction = np.zeros(self.dim)
            direction[k] = 1.0
            epsilon = _SAFETY * self.room(isolated, reach)
            rows = self.hat_rows(isolated, isolated.amplitude, direction, epsilon)
            losses, norms = self.query(rows, outputs)
            y = self.hat_values(losses, norms, base, decay, isolated)
            coords[:, k] = isolated.sign * (y - y0) / epsilon
            raw.append((losses, norms, epsilon))
            reach[isolated.index] = np.maximum(reach[isolated.index], 4 * np.abs(coords[:, k]))
            self._report("coordinates", m)
        return coords, raw, y0

    def labels(self, isolated: _Isolation, y0: np.ndarray, base: float, decay: float) -> np.ndarray:
        """Every label component: sample j's bracket with output direction e_m.

        Rows and outputs are scaled so that the hat's output has size about 1; with the
        hat value y0 known, each answer is linear in (b_j)_m.
        """
        m, d = len(isolated.index), self.net.n_outputs
        scale = 1.0 / np.sqrt(np.maximum(y0, 1e-300))
        rows = self.hat_rows(isolated, scale)
        output = self.router.gain * y0 * scale**2
        labels = np.zeros((m, d))
        for out in range(d):
            direction = np.zeros((m, d))
            direction[:, out] = 1.0
            losses, norms = self.query(rows, self.hat_outputs(direction, scale))
            delta = losses - base - 0.5 * decay * norms
            labels[:, out] = (self.kappa * output**2 - delta) / (2 * self.kappa * output)
            self._report("labels", m)
        return labels

    def chart_contributions(
        self, chart: int, t: np.ndarray, coords: np.ndarray, labels: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Each sample's share of the chart loss at positions t, as recovered and with
        its input negated: two (len(t), m) arrays."""
        p, q = self.charts[chart]
        s = (p @ coords.T)[None, :] + t[:, None] * (q @ coords.T)[None, :]
        beta = labels @ self.v0
        shares = []
        for sign in (1.0, -1.0):
            phi = self.router.gain * np.maximum(sign * s, 0) + self.router.slope * sign * s
            shares.append(self.kappa * (phi**2 - 2 * phi * beta[None, :]))
        return shares[0], shares[1]

    def fix_signs(
        self,
        isolated: _Isolation,
        coords: np.ndarray,
        labels: np.ndarray,
        base: float,
        decay: float,
    ) -> int:
        """Negate the inputs whose negation explains what the chart lines measured.

        Isolating brackets cannot tell a from -a (the hat is even in a), and the sign the
        chart's jumps give is unreliable for kinks close together. Near each kink, the
        chart values minus the prediction from everything recovered are fitted with a
        quadratic trend (samples missing from the prediction add smooth pieces there) after
        negating each combination of the nearby samples; the combination that leaves the
        least misfit wins. Kinks close together bend the chart almost as one, so only
        their signs together can be decided. Returns how many inputs were negated.
        """
        samples, index = isolated.samples, isolated.index
        flipped = np.zeros(len(coords), dtype=bool)
        for chart, reading in enumerate(self.readings):
            p, q = self.charts[chart]
            rows = np.zeros((len(reading.t), 3, self.dim))
            rows[:, 0] = p + reading.t[:, None] * q
            outputs = np.zeros((len(reading.t), 3, self.net.n_outputs))
            outputs[:, 0] = self.v0
            W = self.router.weights(rows, outputs)
            smooth = base + 0.5 * decay * np.einsum("kn,kn->k", W, W)
            now, negated = self.chart_contributions(chart, reading.t, coords, labels)
            residual = reading.values - smooth - now.sum(axis=1)
            swing = negated - now
            position = samples.in_chart(chart)[0][index]
            mine = np.flatnonzero(samples.chart[index] == chart)
            spacing = 2.0 * _SPAN / max(len(mine), 1)
            for j in mine:
                reach = max(3.0 * isolated.own_gap[j], _SIGN_SPACINGS * spacing)
                window = np.abs(reading.t - position[j]) <= reach
                distance = np.abs(position - position[j])
                nearby = np.argsort(distance)[:_SIGN_GROUP]
                nearby = nearby[distance[nearby] <= reach]
                u = (reading.t[window] - position[j]) / reach
                trend = np.column_stack([np.ones_like(u), u, u * u])
                if len(u) <= 3 + len(nearby):
                    continue
                flips = _best_flips(residual[window], swing[window][:, nearby], trend)
                flipped[j] = flips[np.flatnonzero(nearby == j)[0]]
        coords[flipped] *= -1
        return int(flipped.sum())

    def reach_estimate(self, samples: _Samples) -> np.ndarray:
        """A generous first guess of max_k |e_k · a_j| per sample, from its two chart
        projections |Q_c · a_j| and |P_c · a_j| = |t_j Q_c · a_j|."""
        known = np.abs(samples.sigma) * np.hypot(1.0, samples.position)
        return 10.0 * np.sqrt(self.dim) * known

    def room(self, isolated: _Isolation, reach: np.ndarray) -> np.ndarray:
        """Largest ε per measured sample that keeps its own pattern and keeps every other
        kink out of its bracket, if no |e_k · a_i| exceeds ``reach`` (one per sample)."""
        samples, gap = isolated.samples, isolated.gap
        own = np.abs(samples.sigma) * gap / 6 / reach
        room = np.empty(len(isolated.index))
        for slot, j in enumerate(isolated.index):
            position, sigma = samples.in_chart(samples.chart[j])
            mobility = reach / np.maximum(np.abs(sigma), 1e-300)
            distance = np.abs(position - position[j])
            distance[j] = np.inf
            allowed = np.maximum(distance - gap[j] / 2, gap[j] / 2) / mobility
            room[slot] = min(own[j], allowed.min())
        return room

    def _finish(
        self,
        n_kinks: int,
        coords: np.ndarray,
        labels: np.ndarray,
        residual: np.ndarray,
        flips: int,
    ) -> Reconstruction:
        good = residual <= _RESIDUAL_LIMIT
        metadata: dict = {
            "attack": "chosen_weights",
            "kinks_found": n_kinks,
            "rejected": int(n_kinks - good.sum()),
            "signs_fixed_from_chart": flips,
            "residuals": residual[good].tolist(),
        }
        inputs, targets = coords[good], labels[good]
        if self.net.bias:
            scale = inputs[:, -1].copy()
            inputs = inputs[:, :-1] / scale[:, None]
            targets = targets / scale[:, None]
            metadata["multiplicity"] = (scale**2).tolist()
        if (~good).any():
            self.warnings.append(
                f"{int((~good).sum())} of {len(coords)} isolated samples failed their own "
                f"check (residual > {_RESIDUAL_LIMIT}) and were left out"
            )
        for message in self.warnings:
            warnings.warn(message, stacklevel=4)
        metadata["warnings"] = self.warnings
        return self._result(inputs, targets, metadata)

    def _result(
        self, inputs: np.ndarray, targets: np.ndarray | None, metadata: dict
    ) -> Reconstruction:
        return Reconstruction(
            inputs=inputs,
            targets=targets if targets is not None else np.zeros((0, self.net.n_outputs)),
            scale_known=True,
            widths=list(self.net.widths),
            queries=self.oracle.queries,
            metadata=metadata,
        )


def _best_flips(residual: np.ndarray, swings: np.ndarray, trend: np.ndarray) -> np.ndarray:
    """Which columns of ``swings`` to subtract from ``residual`` so that what is left is
    best fitted by ``trend`` (least squares): a boolean per column."""
    combos = np.array(list(itertools.product((False, True), repeat=swings.shape[1])))
    left = residual[:, None] - swings @ combos.T
    fitted = trend @ np.linalg.lstsq(trend, left, rcond=None)[0]
    return combos[np.argmin(((left - fitted) ** 2).sum(axis=0))]


def chosen_weights(
    oracle: object,
    widths: Sequence[int],
    activation: str = "relu",
    bias: bool = False,
    budget: int | None = None,
    *,
    reduction: str | None = None,
    n_samples: int | None = None,
    random_state: int | np.random.Generator | None = 0,
    progress: Progress | None = None,
    **activation_params: float | int,
) -> Reconstruction:
    """Recover every training input and its label exactly from a loss oracle.

    The attacker knows the architecture (``widths``, ``activation``, ``bias``) and may
    evaluate the loss at any weights. ``reduction`` overrides the oracle's loss
    convention; with "mean", ``n_samples`` (M, duplicates included) fixes the scale.
    Every hidden layer needs room for three parallel paths. ``progress(phase, queries,
    samples)`` is called as the attack goes.
    """
    n_params = validate_oracle(oracle)
    net = ReLUNetwork(widths, activation=activation, bias=bias, **activation_params)
    if net.n_params != n_params:
        raise ConfigurationError(
            f"widths {list(widths)} with activation {activation!r} and bias={bias} give "
            f"N = {net.n_params} weights, but the oracle takes N = {n_params}"
        )
    convention = reduction_of(oracle, reduction)
    kappa = None
    if convention != "mean" or n_samples is not None:
        kappa = reduction_scale(convention, n_samples or 1, net.n_outputs)
    counted = CountingOracle(oracle, budget)
    attack = _Attack(counted, net, kappa, np.random.default_rng(random_state), progress)
    return attack.run()

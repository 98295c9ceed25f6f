"""The paper's own reconstruction: inputs up to scale, the number of layers and every
width, from the loss of a bias-free ReLU network whose architecture is unknown.

The attacker knows N and may evaluate E anywhere (Sec. 2.5, Thm 2.11, Prop 2.12). The
method (docs/blind.md has the details and the measurements):

1. **Architecture.** Read E along a few single-coordinate lines through a random point
   (E is piecewise quadratic there), locate the kinks, and measure the full normal of
   Sing(X) at each as the jump of the gradient (:func:`~lossrecon.geometry.gradient_jumps`).
   Which layer widths explain every normal — rows of each layer block parallel to the
   post-activations that the first block's input direction predicts — is decided by
   :func:`~lossrecon.geometry.candidate_layouts`. The first line starts at coordinate 0
   (the first layer), the second is the last coordinate with kinks (the last hidden
   layer); random coordinates follow while several layouts still fit.
2. **Inputs.** For each first-layer row, two chart lines inside the row (P + tQ and
   Q + tP) cross every sample's hyperplane once; the gradient jump restricted to the row
   is parallel to the sample's input at every kink on them, deeper kinks included
   (Cor. 2.10's linear components give the same directions). Rows are read until
   ``patience`` rows in a row add no new direction; then step 3's fit says whether every
   sample has been found, and if not, reading resumes from a new random base point
   (a sample dead behind every path at one point is alive at another).
3. **Scale and labels (optional, beyond the paper).** With the directions â_i known,
   E(w) = C + λ||w||²/2 - Σ β_i·F_w(â_i) + Σ γ_i ||F_w(â_i)||²/2 is linear in the unknowns,
   with β_i = 2κ c_i b_i and γ_i = 2κ c_i² for a_i = c_i â_i: a least-squares fit over
   random weights gives exact inputs and labels, and a residual that says whether every
   sample was found.

What it cannot see: a sample whose hyperplane in a row is never crossed with a live path
behind it (every downstream unit dead for it) leaves no kink in that row; zero inputs
leave none at all; inputs of the same direction merge.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from lossrecon.attacks.contract import EARLY_STOPS, Progress, emit, stop_reason
from lossrecon.errors import AttackError
from lossrecon.geometry import (
    LineReading,
    candidate_layouts,
    gradient_jumps,
    normal_accuracy,
    read_line,
)
from lossrecon.geometry.line_reader import CHART_SPAN
from lossrecon.network import ReLUNetwork
from lossrecon.oracle import protocol
from lossrecon.oracle.counting import CountingOracle
from lossrecon.reconstruction import Reconstruction, RunStats

# What the scale fit gives: the inputs (M, n) and labels (M, d) at their scale, and the
# weight decay it found.
Fitted = tuple[np.ndarray, np.ndarray, float]

__all__ = ["blind"]

_ARCH_SPAN = 10.0  # architecture lines cover t in ±_ARCH_SPAN RMS weights
_WINDOW = 16  # kinks per architecture line whose full normals are measured
_FIRST_TRIES = 32  # leading coordinates tried for a first line with kinks
_EXTRA_LINES = 8  # random coordinates read while several layouts fit
_SAME = 1e-9  # directions with 1 - |cos| below this (or their own accuracy) are one sample
_USABLE = 1e-4  # normals less accurate than this (relative) are not used
_AT_ZERO = 1e-6  # |pre-activation| relative to |row| |input| that counts as zero
_BASES = 4  # base points tried for the inputs before giving up on unexplained loss
_FIT_ROWS = 4  # random weight vectors per unknown of the scale fit
_FIT_RESIDUAL = 1e-8  # relative residual above which the scale fit is not trusted


@dataclass
class _Sample:
    """A recovered input direction: an accuracy-weighted sum of unit vectors, and the
    orientation votes of its oriented kinks (positive: the input points along it)."""

    total: np.ndarray
    votes: int
    kinks: int = 1

    @property
    def direction(self) -> np.ndarray:
        """Unit vector, turned to the majority of the votes."""
        unit = self.total / np.linalg.norm(self.total)
        return -unit if self.votes < 0 else unit

    @property
    def oriented(self) -> bool:
        return self.votes != 0


@dataclass
class _Evidence:
    points: list[np.ndarray] = field(default_factory=list)
    normals: list[np.ndarray] = field(default_factory=list)
    errors: list[np.ndarray] = field(default_factory=list)

    def add(self, points: np.ndarray, normals: np.ndarray, errors: np.ndarray) -> None:
        self.points.extend(points)
        self.normals.extend(normals)
        self.errors.extend(errors)

    def layouts(self) -> list[list[int]]:
        if not self.points:
            return []
        return candidate_layouts(
            np.array(self.points), np.array(self.normals), np.array(self.errors)
        )


class _Attack:
    def __init__(
        self,
        oracle: CountingOracle,
        rng: np.random.Generator,
        progress: Progress | None,
        patience: int,
    ) -> None:
        self.oracle = oracle
        self.rng = rng
        self.progress = progress
        self.patience = patience
        self.n_params = oracle.n_params
        self.base = rng.normal(size=self.n_params)
        self.scale = float(np.sqrt(np.mean(self.base**2)))
        self.samples: list[_Sample] = []
        self.phase = "architecture"
        self.stats = RunStats(
            attack="blind", architecture_lines=0, rows_read=0, kinks=0, unexplained_kinks=0
        )
        self.warnings = self.stats.warnings

    def evaluate(self, W: np.ndarray) -> np.ndarray:
        losses = self.oracle.ask(W, self.phase.replace(" ", "_"))
        if self.progress is not None:
            self.progress(self.phase, self.oracle.queries, len(self.samples))
        return losses

    def read(self, base: np.ndarray, direction: np.ndarray, span: float) -> LineReading:
        def along(t: np.ndarray) -> np.ndarray:
            return self.evaluate(base[None, :] + t[:, None] * direction[None, :])

        reading = read_line(along, -span, span)
        if reading.noisy:
            raise _Unreadable(
                "the loss along a line never settles on quadratic pieces: noise, rounding "
                "or a smooth activation hides its kinks, and the blind attack needs them"
            )
        return reading

    # -- 1. the architecture -------------------------------------------------------
    def architecture(self) -> list[list[int]]:
        """Every layout that explains the kinks measured, fewest layers first; all share
        the first two widths (the inputs' dimension and the rows read next)."""
        evidence = _Evidence()
        span = _ARCH_SPAN * self.scale
        leading = range(min(_FIRST_TRIES, self.n_params))
        first = next((c for c in leading if self.axis_line(c, span, evidence)), None)
        if first is None:
            raise _Unreadable(
                f"no kinks on the lines of the first {_FIRST_TRIES} weights: the oracle "
                "does not look like a ReLU network's loss"
            )
        for c in range(self.n_params - 1, first, -1):
            if self.axis_line(c, span, evidence):
                break
        layouts = evidence.layouts()
        extra = 0
        while len(layouts) > 1 and extra < _EXTRA_LINES:
            extra += 1
            self.axis_line(int(self.rng.integers(self.n_params)), span, evidence)
            layouts = evidence.layouts()
        if not layouts:
            raise AttackError(
                f"no bias-free ReLU layout of N = {self.n_params} weights explains the "
                f"{len(evidence.points)} kinks measured (biases, another activation, or a "
                "hidden layer narrower than 2?)"
            )
        layouts.sort(key=len)
        same_start = [w for w in layouts if w[:2] == layouts[0][:2]]
        if len(same_start) < len(layouts):
            self.warnings.append(
                f"the kinks leave the first layer open between {layouts}; reading inputs "
                f"with the first two widths {layouts[0][:2]}"
            )
        return same_start

    def axis_line(self, coordinate: int, span: float, evidence: _Evidence) -> bool:
        """Read the line along one weight; add the normals of up to _WINDOW kinks near the
        base point to the evidence. Returns whether the line had kinks."""
        self.stats.architecture_lines = (self.stats.architecture_lines or 0) + 1
        direction = np.zeros(self.n_params)
        direction[coordinate] = 1.0
        reading = self.read(self.base, direction, span)
        if not reading.kinks:
            return False
        for kinks, lo, hi in reading.segments(-span, span):
            nearest = np.sort(kinks[np.argsort(np.abs(kinks))[:_WINDOW]])
            inside = np.flatnonzero(np.isin(kinks, nearest))
            left = lo if inside[0] == 0 else 0.5 * (kinks[inside[0] - 1] + kinks[inside[0]])
            last = inside[-1]
            right = hi if last == len(kinks) - 1 else 0.5 * (kinks[last] + kinks[last + 1])
            jumps, errors = gradient_jumps(
                self.evaluate,
                self.base,
                direction,
                nearest,
                left,
                right,
                np.arange(self.n_params),
                verify=True,
            )
            usable = ~np.isnan(jumps).any(1)
            usable[usable] = normal_accuracy(jumps[usable], errors[usable]) <= _USABLE
            points = self.base[None, :] + nearest[usable, None] * direction[None, :]
            evidence.add(points, jumps[usable], errors[usable])
            break
        return True

    # -- 2. the inputs -------------------------------------------------------------
    def inputs(
        self, layouts: list[list[int]], convention: str, n_samples: int | None
    ) -> tuple[list[int], Fitted | None]:
        """Read first-layer rows until the loss is explained; return the layout that
        explains it (the first one if none does) and its scale fit.

        After ``patience`` rows in a row that add no direction, the scale fit asks
        whether the directions found explain the loss under each layout (the kinks may
        leave the last layers open, the loss does not). If none does, some sample is
        dead at this base point (every path behind it off), and reading goes on from a
        new one.
        """
        self.phase = "inputs"
        widths = layouts[0]
        for attempt in range(_BASES):
            if attempt:
                self.base = self.rng.normal(size=self.n_params) * self.scale
            quiet = 0
            for row in self.rng.permutation(widths[1]):
                before = len(self.samples)
                self.read_row(widths, int(row))
                self.stats.rows_read = (self.stats.rows_read or 0) + 1
                quiet = quiet + 1 if len(self.samples) == before else 0
                if quiet >= self.patience:
                    break
            self.stats.base_points = attempt + 1
            for layout in layouts if self.samples else []:
                fitted = self.scale_fit(layout, convention, n_samples)
                if fitted is not None:
                    self.stats.layout_alternatives = [w for w in layouts if w != layout]
                    return layout, fitted
        residual = np.nan if self.stats.fit_residual is None else self.stats.fit_residual
        self.warnings.append(
            f"the loss is not explained by the {len(self.samples)} directions found "
            f"(relative residual {residual:.1e}) from "
            f"{_BASES} base points: samples are missing (dead for every path tried) or "
            "the regularizer is not weight decay"
        )
        if len(layouts) > 1:
            self.warnings.append(
                f"{len(layouts)} layouts explain every kink measured and the loss could not "
                f"decide; taking {widths} (fewest layers) of {layouts}"
            )
        self.stats.layout_alternatives = layouts[1:]
        return widths, None

    def read_row(self, widths: list[int], row: int) -> None:
        net = ReLUNetwork(widths)
        n = widths[0]
        cols = net.layout.row_indices(0, row)
        norm = np.linalg.norm(self.base[cols])
        p = self.rng.normal(size=n)
        p /= np.linalg.norm(p)
        q = self.rng.normal(size=n)
        q -= (q @ p) * p
        q /= np.linalg.norm(q)
        for start, step in ((p, q), (q, p)):
            base = self.base.copy()
            base[cols] = norm * start
            direction = np.zeros(self.n_params)
            direction[cols] = norm * step
            reading = self.read(base, direction, CHART_SPAN)
            d2 = {k.t: k.d2 for k in reading.kinks}
            for kinks, lo, hi in reading.segments(-CHART_SPAN, CHART_SPAN):
                jumps, errors = gradient_jumps(self.evaluate, base, direction, kinks, lo, hi, cols)
                for t, jump, error in zip(kinks, jumps, errors, strict=True):
                    if abs(t) <= 1.0 and not np.isnan(jump).any():
                        point = base + t * direction
                        self.add_kink(net, cols, point, jump, error, d2[t] * (step @ jump))

    def add_kink(
        self,
        net: ReLUNetwork,
        cols: np.ndarray,
        point: np.ndarray,
        jump: np.ndarray,
        error: np.ndarray,
        curvature_sign: float,
    ) -> None:
        """Orient one kink's input direction and merge it into the samples."""
        self.stats.kinks = (self.stats.kinks or 0) + 1
        accuracy = float(normal_accuracy(jump[None], error[None])[0])
        if accuracy > _USABLE:
            self.stats.unexplained_kinks = (self.stats.unexplained_kinks or 0) + 1
            return
        direction = jump / np.linalg.norm(jump)
        weights = point[cols]
        z = weights @ direction
        if abs(z) <= max(_AT_ZERO, accuracy) * np.linalg.norm(weights):
            # A first-layer kink: E'' jumps up where the sample's unit turns on.
            sign = np.sign(curvature_sign)
        else:
            # A deeper kink: the row's unit is active for the sample, and some deeper
            # unit is at zero.
            sign = np.sign(z)
            if not _deeper_unit_at_zero(net, point, sign * direction, accuracy):
                self.stats.unexplained_kinks = (self.stats.unexplained_kinks or 0) + 1
                return
        self.merge(sign * direction if sign else direction, bool(sign), accuracy)

    def merge(self, direction: np.ndarray, oriented: bool, accuracy: float) -> None:
        weight = 1.0 / max(accuracy, _SAME) ** 2
        for sample in self.samples:
            cos = float(sample.total @ direction) / np.linalg.norm(sample.total)
            if 1.0 - abs(cos) <= max(_SAME, accuracy**2):
                sign = np.sign(cos)
                sample.total = sample.total + weight * sign * direction
                sample.votes += int(sign) if oriented else 0
                sample.kinks += 1
                return
        self.samples.append(_Sample(weight * direction, int(oriented)))

    # -- 3. scale and labels -------------------------------------------------------
    def scale_fit(self, widths: list[int], convention: str, n_samples: int | None) -> Fitted | None:
        """Exact inputs, labels and weight decay from a linear fit of E, or None if the
        directions found do not explain the loss."""
        phase, self.phase = self.phase, "scale fit"
        net = ReLUNetwork(widths)
        directions = np.array([s.direction for s in self.samples])
        # Both signs of every direction are fitted (a vote can be wrong); the wrong one
        # gets γ = 0.
        candidates = np.concatenate([directions, -directions])
        d = widths[-1]
        n_unknowns = 2 + len(candidates) * (d + 1)
        W = self.rng.normal(size=(_FIT_ROWS * n_unknowns, self.n_params)) * self.scale
        losses = self.evaluate(W)
        outputs = net.forward(W, candidates)  # (R, S, d)
        design = np.concatenate(
            [
                np.ones((len(W), 1)),
                0.5 * np.einsum("rn,rn->r", W, W)[:, None],
                -outputs.reshape(len(W), -1),
                0.5 * np.einsum("rsd,rsd->rs", outputs, outputs),
            ],
            axis=1,
        )
        self.phase = phase
        coef, *_ = np.linalg.lstsq(design, losses, rcond=None)
        residual = float(np.linalg.norm(design @ coef - losses) / np.linalg.norm(losses))
        self.stats.fit_residual = residual
        if residual > _FIT_RESIDUAL:
            return None
        beta = coef[2 : 2 + len(candidates) * d].reshape(len(candidates), d)
        gamma = coef[2 + len(candidates) * d :]
        count = len(self.samples)
        pick = np.where(gamma[count:] > gamma[:count], count + np.arange(count), np.arange(count))
        if n_samples is None and convention == "mean":
            self.warnings.append(
                "reduction 'mean' without n_samples: assuming M = the number of directions"
            )
        kappa = protocol.reduction_scale(convention, n_samples or len(self.samples), d)
        c = np.sqrt(np.maximum(gamma[pick], 0.0) / (2 * kappa))
        with np.errstate(divide="ignore", invalid="ignore"):
            labels = np.nan_to_num(beta[pick] / (2 * kappa * c[:, None]))
        return candidates[pick] * c[:, None], labels, float(coef[1])

    def finish(self, widths: list[int] | None, fitted: Fitted | None) -> Reconstruction:
        n = widths[0] if widths else 0
        directions = (
            np.array([s.direction for s in self.samples]) if self.samples else np.zeros((0, n))
        )
        self.stats.queries_by_phase = dict(self.oracle.by_phase)
        self.stats.kinks_per_sample = np.array([s.kinks for s in self.samples], dtype=int)
        self.stats.oriented = np.array([s.oriented for s in self.samples], dtype=bool)
        fit_residual = self.stats.fit_residual
        self.stats.complete = fit_residual is not None and fit_residual <= _FIT_RESIDUAL
        emit(self.stats, stacklevel=4)
        if fitted is None:
            return Reconstruction(directions, None, False, widths, self.oracle.queries, self.stats)
        inputs, labels, decay = fitted
        self.stats.weight_decay = decay
        return Reconstruction(inputs, labels, True, widths, self.oracle.queries, self.stats)


class _Unreadable(Exception):
    """The loss along a line cannot be read as piecewise quadratic."""


def _deeper_unit_at_zero(
    net: ReLUNetwork, point: np.ndarray, x: np.ndarray, accuracy: float
) -> bool:
    """Whether some unit beyond the first hidden layer has pre-activation 0 for input x."""
    zs = [z[0, 0] for z in net.pre_activations(point, x[None])[:-1]]
    matrices = [matrix for matrix, _ in net.unflatten(point)]
    for depth in range(1, len(zs)):
        h = net.activation.apply(zs[depth - 1])
        scale = np.linalg.norm(matrices[depth], axis=1) * np.linalg.norm(h)
        if np.any(np.abs(zs[depth]) <= max(_AT_ZERO, accuracy) * scale):
            return True
    return False


def blind(
    oracle: object,
    *,
    budget: int | None = None,
    exact: bool = False,
    reduction: str | None = None,
    n_samples: int | None = None,
    patience: int = 2,
    random_state: int | np.random.Generator | None = 0,
    progress: Progress | None = None,
) -> Reconstruction:
    """Recover the training inputs up to scale and the layer widths from a loss oracle.

    The attacker knows only N (``oracle.n_params``) and that the target is a bias-free
    ReLU network with a squared loss; it may evaluate the loss at any weights.
    Returns unit-length inputs (``scale_known`` False; oriented as the true inputs where
    ``stats.oriented`` says so) and the widths [n, h1, ..., d_out]. ``exact`` also fits
    every sample's scale and label (then ``scale_known`` is True), using the loss
    convention (``reduction`` and ``n_samples`` override what the oracle declares). First-
    layer rows are read until ``patience`` rows in a row add nothing and the directions
    found explain the loss (``stats.complete``; the same linear fit, so even without
    ``exact`` the attack knows when it has every sample). Failures follow
    :mod:`lossrecon.attacks.contract`: a spent budget returns what was found so far.
    """
    protocol.validate_oracle(oracle)
    convention, m = protocol.squared_loss_convention(oracle, "blind", reduction, n_samples)
    counted = CountingOracle(oracle, budget)
    attack = _Attack(counted, np.random.default_rng(random_state), progress, patience)
    widths: list[int] | None = None
    fitted = None
    try:
        layouts = attack.architecture()
        widths = layouts[0]
        widths, fitted = attack.inputs(layouts, convention, m)
    except _Unreadable as exc:
        attack.stats.stopped = "unreadable"
        attack.warnings.append(str(exc))
    except EARLY_STOPS as exc:
        attack.stats.stopped = stop_reason(exc)
        attack.warnings.append(f"stopped early in phase {attack.phase!r}: {exc}")
    return attack.finish(widths, fitted if exact else None)

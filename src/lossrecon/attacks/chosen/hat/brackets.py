"""The hat's isolation: brackets that cancel every sample but one.

Three paths with rows w_a, w_b = (w_a + w_c)/2, w_c and outputs (1, -2, 1) v give
F(a) = v * (relu(w_a·a) - 2 relu(w_b·a) + relu(w_c·a)), which is 0 for every sample
whose hyperplane lies outside the bracket (θ_a, θ_c) of the chart. A bracket around t_j
alone makes the loss depend on sample j only:
E = C + λ/2 ||w||² + κ (F² - 2 F v·b_j), one equation for the hat value y. C and the
weight-decay strength λ come from queries with a zero first layer (:func:`calibrate`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from lossrecon.attacks.chosen.hat.chart import Samples
from lossrecon.attacks.chosen.hat.paths import Paths

__all__ = ["Baseline", "Brackets", "bracket_room", "calibrate", "hat_outputs", "hat_rows", "screen"]

_SCREEN = 1e3  # a bracket whose hat value is off the chart's estimate by this factor fails

Baseline = tuple[float, float]  # C and λ: the loss at F = 0 is C + λ/2 ||w||²


@dataclass
class Brackets:
    """The brackets of the samples being measured.

    ``index`` picks them out of the pass's samples; ``gap`` holds every sample's
    bracket room (the distance to its nearest neighbour on its line, at most 1);
    ``amplitude`` scales rows and outputs of their coordinate queries; ``beta`` is
    v0 · b_j, first as the chart estimates it, later exact. Each sample's output
    direction is ±v0, oriented once (``orient``) so that its v · b_j <= 0: then the hat
    value is the one nonnegative root of its quadratic.
    """

    samples: Samples
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

    def subset(self, keep: np.ndarray) -> Brackets:
        kept = Brackets(
            self.samples, self.index[keep], self.gap, self.amplitude[keep], self.beta[keep]
        )
        kept.orient = self.orient[keep]
        return kept


def bracket_room(samples: Samples) -> np.ndarray:
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
    brackets: Brackets,
    scale: np.ndarray | float,
    direction: np.ndarray | None = None,
    epsilon: np.ndarray | None = None,
) -> np.ndarray:
    """(K, 3, n') rows of the brackets, moved by ε_j e_k if given, times ``scale``.

    Bracket j spans (t_j - g_j/2, t_j + g_j/6) with w_b in the middle; sample j's hat
    value is |Q · a_j| g_j / 6 whatever its sign.
    """
    samples, index, gap = brackets.samples, brackets.index, brackets.own_gap
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


def hat_outputs(v: np.ndarray, scale: np.ndarray | float) -> np.ndarray:
    """(K, 3, d) outputs (1, -2, 1) v_j, times ``scale``; v is (K, d)."""
    weights = np.array([1.0, -2.0, 1.0])
    return weights[None, :, None] * v[:, None, :] * np.reshape(scale, (-1, 1, 1))


def hat_values(
    paths: Paths,
    kappa: float,
    losses: np.ndarray,
    norms: np.ndarray,
    baseline: Baseline,
    brackets: Brackets,
) -> np.ndarray:
    """Solve κ (F² - 2 F β) = Δ for F = gain * amplitude² * y, y >= 0 the hat value."""
    base, decay = baseline
    delta = losses - base - 0.5 * decay * norms
    beta = brackets.orient * brackets.beta
    disc = np.maximum(beta**2 + delta / kappa, 0.0)
    return (beta + np.sqrt(disc)) / (paths.router.gain * brackets.amplitude**2)


def calibrate(paths: Paths, scale: float, notes: list[str]) -> Baseline:
    """C and λ from queries whose first layer is 0 (so F = 0)."""
    rows = np.zeros((3, 3, paths.dim))
    outputs = np.zeros((3, 3, paths.d))
    outputs[1] = scale
    outputs[2] = scale / np.sqrt(3.0)
    losses, norms = paths.query(rows, outputs, "calibration")
    slope = 2 * (losses[1] - losses[0]) / (norms[1] - norms[0])
    predicted = losses[0] + 0.5 * slope * (norms[2] - norms[0])
    tolerance = 1e-9 * max(abs(losses[1]), abs(losses[0]), 1e-300)
    if abs(predicted - losses[2]) > tolerance:
        notes.append(
            "the loss at F = 0 is not affine in ||w||^2: the regularizer is not plain "
            "weight decay, and recovered values may be off"
        )
    return float(losses[0] - 0.5 * slope * norms[0]), float(slope)


def screen(
    paths: Paths, kappa: float, brackets: Brackets, expected: np.ndarray, baseline: Baseline
) -> tuple[Brackets, tuple[np.ndarray, np.ndarray]]:
    """Ask every bracket once, unperturbed, and keep those that isolate one sample.

    A hat value far from the chart's estimate |Q · a_j| g_j / 6 (or not positive)
    means the bracket holds no sample or several (kinks the chart merged). Returns
    the kept brackets and their answers (losses, squared weight norms).
    """
    outputs = hat_outputs(brackets.output_direction(paths.v0), brackets.amplitude)
    losses, norms = paths.query(hat_rows(brackets, brackets.amplitude), outputs, "isolation")
    y0 = hat_values(paths, kappa, losses, norms, baseline, brackets)
    with np.errstate(divide="ignore", invalid="ignore"):
        keep = (y0 > 0) & (np.abs(np.log(y0 / expected)) < np.log(_SCREEN))
    return brackets.subset(keep), (losses[keep], norms[keep])

"""The hat's readout: coordinates and labels of the bracketed samples.

Coordinates: adding ε e_k to the three rows adds ±ε (e_k · a_j) to the hat value y: one
query per sample and coordinate, plus one unperturbed query per sample. Labels: with a_j
known, y is known, and the same bracket with output direction e_m gives (b_j)_m exactly:
one query per label component.
"""

from __future__ import annotations

import numpy as np

from lossrecon.attacks.chosen.hat.brackets import (
    Baseline,
    Brackets,
    hat_outputs,
    hat_rows,
    hat_values,
)
from lossrecon.attacks.chosen.hat.chart import Samples
from lossrecon.attacks.chosen.hat.paths import Paths

__all__ = ["Perturbed", "read_coordinates", "read_labels"]

_SAFETY = 0.25  # the perturbation uses this share of the room the bracket leaves
_BLOCK = 512  # samples per block in vectorised all-pairs checks

# Each coordinate batch's losses, squared weight norms and perturbations ε (K,), to
# solve again once the labels are exact.
Perturbed = list[tuple[np.ndarray, np.ndarray, np.ndarray]]


def read_coordinates(
    paths: Paths,
    kappa: float,
    brackets: Brackets,
    base_answers: tuple[np.ndarray, np.ndarray],
    baseline: Baseline,
) -> tuple[np.ndarray, Perturbed, np.ndarray]:
    """Every coordinate of every bracketed sample: one batch per coordinate with the
    brackets' rows moved by ε_j e_k, against the unperturbed answers.

    Returns the coordinates, the answers of each batch and the unperturbed hat values.
    """
    m = len(brackets.index)
    outputs = hat_outputs(brackets.output_direction(paths.v0), brackets.amplitude)
    losses, norms = base_answers
    raw: Perturbed = []
    y0 = hat_values(paths, kappa, losses, norms, baseline, brackets)
    coords = np.zeros((m, paths.dim))
    reach = _reach_estimate(paths, brackets.samples)
    for k in range(paths.dim):
        direction = np.zeros(paths.dim)
        direction[k] = 1.0
        epsilon = _SAFETY * _room(brackets, reach)
        rows = hat_rows(brackets, brackets.amplitude, direction, epsilon)
        losses, norms = paths.query(rows, outputs, "coordinates")
        y = hat_values(paths, kappa, losses, norms, baseline, brackets)
        coords[:, k] = brackets.sign * (y - y0) / epsilon
        raw.append((losses, norms, epsilon))
        reach[brackets.index] = np.maximum(reach[brackets.index], 4 * np.abs(coords[:, k]))
        paths.report("coordinates")
    return coords, raw, y0


def read_labels(
    paths: Paths, kappa: float, brackets: Brackets, y0: np.ndarray, baseline: Baseline
) -> np.ndarray:
    """Every label component: sample j's bracket with output direction e_m.

    Rows and outputs are scaled so that the hat's output has size about 1; with the
    hat value y0 known, each answer is linear in (b_j)_m.
    """
    base, decay = baseline
    m, d = len(brackets.index), paths.d
    scale = 1.0 / np.sqrt(np.maximum(y0, 1e-300))
    rows = hat_rows(brackets, scale)
    output = paths.router.gain * y0 * scale**2
    labels = np.zeros((m, d))
    for out in range(d):
        direction = np.zeros((m, d))
        direction[:, out] = 1.0
        losses, norms = paths.query(rows, hat_outputs(direction, scale), "labels")
        delta = losses - base - 0.5 * decay * norms
        labels[:, out] = (kappa * output**2 - delta) / (2 * kappa * output)
        paths.report("labels")
    return labels


def _reach_estimate(paths: Paths, samples: Samples) -> np.ndarray:
    """A generous first guess of max_k |e_k · a_j| per sample, from its two chart
    projections |Q · a_j| and |P · a_j| = |t_j Q · a_j|."""
    known = np.abs(samples.sigma) * np.hypot(1.0, samples.position)
    return 10.0 * np.sqrt(paths.dim) * known


def _room(brackets: Brackets, reach: np.ndarray) -> np.ndarray:
    """Largest ε per measured sample that keeps its own pattern and keeps every other
    kink out of its bracket, if no |e_k · a_i| exceeds ``reach`` (one per sample)."""
    samples, gap = brackets.samples, brackets.gap
    room = np.empty(len(brackets.index))
    for side in (0, 1):
        slots = np.flatnonzero(samples.side[brackets.index] == side)
        position, sigma = samples.on_side(side)
        mobility = reach / np.maximum(np.abs(sigma), 1e-300)
        for block in np.array_split(slots, max(1, len(slots) // _BLOCK)):
            j = brackets.index[block]
            distance = np.abs(position[None, :] - position[j, None])
            distance[np.arange(len(j)), j] = np.inf
            half = gap[j, None] / 2
            allowed = np.maximum(distance - half, half) / mobility[None, :]
            own = np.abs(sigma[j]) * gap[j] / 6 / reach[j]
            room[block] = np.minimum(own, allowed.min(axis=1))
    return room

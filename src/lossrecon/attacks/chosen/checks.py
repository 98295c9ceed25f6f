"""Checks: nothing is returned that its own answers contradict.

A sample read must reproduce its norm query and project into its windows (within the
error bounds of its numbers and the client's rounding of the rows); the same sample
read from two windows is kept once; a loss asked twice with the same weights must
answer the same (else it is no function of the weights, and is named, never read).
"""

from __future__ import annotations

import numpy as np

from lossrecon.attacks.chosen.client import Client
from lossrecon.attacks.chosen.coordinates import Norms
from lossrecon.attacks.chosen.isolation import Isolated, Reading
from lossrecon.errors import AttackError
from lossrecon.precision import in_format

__all__ = [
    "CONFIDENT",
    "TWICE",
    "bounded",
    "check_consistent",
    "confident",
    "norm_check",
    "read_twice",
]

CONFIDENT = 0.05  # the largest error bound, relative to the input, of a sample returned
TWICE = 8  # windows whose share is asked twice with the same weights, which must agree


def norm_check(client: Client, norms: Norms, inputs: np.ndarray, errors: np.ndarray) -> np.ndarray:
    """Whether each input read (K, n) reproduces what its norm query gave: the query's
    value predicted from the input, with the client's rounding of the rows and of r·a,
    and the input's error bounds (K, n)."""
    n = inputs.shape[1]
    rows = in_format(norms.rows, client.dtype)
    a = np.nan_to_num(inputs)
    predicted = norms.mix * np.maximum(a @ rows.T, 0.0).sum(1)
    size = norms.mix * np.linalg.norm(rows, axis=1).sum() * np.linalg.norm(a, axis=1)
    rounding = 8.0 * client.roundoff * np.sqrt(n) * size
    reach = size * np.linalg.norm(errors, axis=1) / np.maximum(np.linalg.norm(a, axis=1), 1e-300)
    asked = np.isfinite(norms.u)
    off = np.abs(predicted - norms.u) > 4.0 * (norms.du + reach) + rounding
    return ~(asked & off)


def bounded(inputs: np.ndarray, errors: np.ndarray) -> np.ndarray:
    """Whether each input's error bound is not a sizeable share of itself (K,)."""
    norm = np.linalg.norm(np.nan_to_num(inputs), axis=1)
    return np.linalg.norm(errors, axis=1) <= CONFIDENT * np.maximum(norm, 1e-300)


def confident(
    client: Client,
    isolated: Isolated,
    norms: Norms,
    labels_ok: np.ndarray,
    inputs: np.ndarray,
    errors: np.ndarray,
) -> np.ndarray:
    """Which samples pass their check: finite, their norm query reproduced, inside their
    windows, their label read clearly and their error bound not a sizeable share of
    themselves (K,)."""
    ok = np.all(np.isfinite(inputs), axis=1)
    ok &= norm_check(client, norms, inputs, errors)
    ok &= isolated.holds(client, inputs, errors)
    return ok & labels_ok & bounded(inputs, errors)


def read_twice(reading: Reading) -> np.ndarray:
    """Which of the samples read (M',) is a second reading of an earlier one: the same
    input and label within both error bounds, from another window."""
    from scipy.spatial import cKDTree

    inputs, errors, ok = reading.inputs, reading.errors, reading.ok
    labels, label_bounds = reading.labels, reading.label_bounds
    twice = np.zeros(len(inputs), dtype=bool)
    good = np.flatnonzero(ok)
    if len(good) < 2:
        return twice
    radius = 2.0 * float(np.linalg.norm(errors[good], axis=1).max()) + 1e-300
    for i, j in sorted(cKDTree(inputs[good]).query_pairs(radius)):
        a, b = good[i], good[j]
        if twice[a] or twice[b]:
            continue
        close = np.all(np.abs(inputs[a] - inputs[b]) <= errors[a] + errors[b])
        same = np.abs(labels[a] - labels[b]) <= label_bounds[a] + label_bounds[b]
        if close and np.all(same):
            twice[b] = True
    return twice


def check_consistent(first: np.ndarray, again: np.ndarray, tolerance: np.ndarray) -> None:
    """Raise unless one sample's share, asked twice with the same weights, came back
    the same within ``tolerance`` (the answers' error, their measured noise in it):
    a loss that is not a function of the weights is named, never read."""
    apart = np.abs(first - again)
    if np.all(apart <= tolerance):
        return
    worst = int(np.argmax(apart / np.maximum(np.abs(first), 1e-300)))
    raise AttackError(
        "the client's answers disagree with themselves: one sample's share of the "
        f"loss came back as {first[worst]:.6g} and then {again[worst]:.6g} for the same "
        "weights, far beyond the noise the repeated zero-weight answers showed. Its "
        "loss is not a fixed function of the weights: a model left in training mode "
        "(dropout), a data loader that reshuffles batches of unequal sizes, or a "
        "model that changes between calls"
    )

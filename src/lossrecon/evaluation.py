"""Compare a reconstruction with the true training set (the metrics of docs/metrics.md).

This is the only module that sees ground truth; attacks never import it.

- Truth is the set of distinct nonzero inputs: equal inputs count once (and once up to
  scale when the reconstruction's scale is unknown); a zero input leaves no trace in a
  bias-free loss and is dropped. Duplicates of an input act in the loss as one sample
  whose label is their mean, so that mean is the label truth.
- Recovered and true inputs are matched one to one by the Hungarian assignment on the
  cost 1 - |cos|, made lexicographic: most pairs within tau first, then least total
  cost (see :func:`match`); ``recall@tau`` is the share of true samples whose match costs at most
  tau, ``precision@tau`` the share of recovered vectors that match a true one so.
- Where the scale is recovered: relative errors ||a' - a|| / ||a|| over matched pairs,
  and the same for labels (the absolute error for a label equal to 0).
- ``queries_per_sample`` = queries / M and ``floor_ratio`` = queries / (M (n + 1)), with
  M the number of distinct true samples: 1.0 is the information limit.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from lossrecon.data import as_array
from lossrecon.errors import ConfigurationError
from lossrecon.reconstruction import Reconstruction

__all__ = ["Match", "cosine_cost", "distinct_samples", "evaluate", "match"]

_SAME = 1e-12
_BLOCK = 1024


def _unit_rows(x: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return np.divide(x, norms, out=np.zeros_like(x), where=norms > 0)


def cosine_cost(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """1 - |cos| between every row of a (P, n) and of b (Q, n): shape (P, Q).

    A zero row has cost 1 against everything.
    """
    return np.clip(1.0 - np.abs(_unit_rows(a) @ _unit_rows(b).T), 0.0, 1.0)


def _group_ids(inputs: np.ndarray, up_to_scale: bool) -> np.ndarray:
    """For each row, the index of the first row equal to it (up to scale if asked)."""
    m = len(inputs)
    ids = np.arange(m)
    norms = np.linalg.norm(inputs, axis=1)
    units = _unit_rows(inputs)
    for start in range(0, m, _BLOCK):
        rows = slice(start, min(start + _BLOCK, m))
        cos = units[rows] @ units.T
        if up_to_scale:
            same = 1.0 - np.abs(cos) <= _SAME
        else:
            same = (1.0 - cos <= _SAME) & (
                np.abs(norms[rows, None] - norms[None, :])
                <= _SAME * np.maximum(norms[rows, None], norms[None, :])
            )
        ids[rows] = same.argmax(axis=1)
    return ids


@dataclass(frozen=True)
class DistinctSamples:
    """The truth an attack is measured against.

    ``inputs`` (M, n) and ``targets`` (M, d_out) or None are the distinct nonzero samples;
    ``multiplicity`` (M,) counts how often each occurred; ``n_zero`` counts zero inputs.
    """

    inputs: np.ndarray
    targets: np.ndarray | None
    multiplicity: np.ndarray
    n_zero: int


def distinct_samples(
    inputs: np.ndarray, targets: np.ndarray | None, up_to_scale: bool
) -> DistinctSamples:
    """Drop zero inputs and merge duplicates (up to scale if asked), averaging labels."""
    nonzero = np.linalg.norm(inputs, axis=1) > 0
    x = inputs[nonzero]
    y = None if targets is None else targets[nonzero]
    ids = _group_ids(x, up_to_scale)
    keep, inverse, counts = np.unique(ids, return_inverse=True, return_counts=True)
    merged_targets = None
    if y is not None:
        merged_targets = np.zeros((len(keep), y.shape[1]))
        np.add.at(merged_targets, inverse, y)
        merged_targets /= counts[:, None]
    return DistinctSamples(x[keep], merged_targets, counts, int((~nonzero).sum()))


@dataclass(frozen=True)
class Match:
    """A one-to-one assignment: true row ``truth[j]`` is matched to ``recovered[j]``."""

    truth: np.ndarray
    recovered: np.ndarray
    cost: np.ndarray


def match(recovered: np.ndarray, truth: np.ndarray, tau: float) -> Match:
    """Hungarian assignment of recovered (Q, n) to true (P, n) inputs on 1 - |cos|.

    Pairs costing more than tau carry a penalty larger than any total of plain costs, so
    the assignment first makes as many pairs within tau as possible and only then
    minimises the total cost. Plain minimum-sum matching on 1 - |cos| would let a
    garbage vector steal an exact match whenever that lowers the total.
    """
    if len(recovered) == 0 or len(truth) == 0:
        empty = np.zeros(0, dtype=int)
        return Match(empty, empty, np.zeros(0))
    cost = cosine_cost(truth, recovered)
    penalty = (cost > tau) * (min(cost.shape) + 1.0)
    from scipy.optimize import linear_sum_assignment  # 0.3 s to import: on first use

    rows, cols = linear_sum_assignment(cost + penalty)
    return Match(rows, cols, cost[rows, cols])


def _relative_errors(estimate: np.ndarray, truth: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(truth, axis=1)
    return np.linalg.norm(estimate - truth, axis=1) / np.where(norms > 0, norms, 1.0)


def _summary(errors: np.ndarray, prefix: str) -> dict[str, float | None]:
    if errors.size == 0:
        return {f"{prefix}_median": None, f"{prefix}_max": None}
    return {f"{prefix}_median": float(np.median(errors)), f"{prefix}_max": float(errors.max())}


def evaluate(
    rec: Reconstruction,
    true_inputs: object,
    true_targets: object | None = None,
    tau: float = 1e-6,
) -> dict[str, Any]:
    """Metrics of a reconstruction against the true training set (see the module doc).

    true_inputs: (M, n); true_targets: (M, d_out) or None. Returns a JSON-ready dict.
    """
    x = as_array(true_inputs, "true_inputs")
    if x.ndim != 2:
        raise ConfigurationError(f"true_inputs must be 2-D (M, n), got shape {x.shape}")
    y = None
    if true_targets is not None:
        y = as_array(true_targets, "true_targets")
        y = y[:, None] if y.ndim == 1 else y
        if len(y) != len(x):
            raise ConfigurationError(f"{len(y)} true targets for {len(x)} true inputs")
    if rec.n_samples and rec.inputs.shape[1] != x.shape[1]:
        raise ConfigurationError(
            f"recovered inputs have {rec.inputs.shape[1]} features, true inputs {x.shape[1]}"
        )
    truth = distinct_samples(x, y, up_to_scale=not rec.scale_known)
    m_true, n = truth.inputs.shape
    found = match(rec.inputs, truth.inputs, tau)
    good = found.cost <= tau
    n_matched = int(good.sum())
    report: dict[str, Any] = {
        "tau": tau,
        "n_true": m_true,
        "n_recovered": rec.n_samples,
        "n_matched": n_matched,
        "n_duplicates_merged": int(truth.multiplicity.sum() - m_true),
        "n_zero_inputs": truth.n_zero,
        "recall": n_matched / m_true if m_true else None,
        "precision": n_matched / rec.n_samples if rec.n_samples else None,
        "scale_known": rec.scale_known,
        "queries": int(rec.queries),
        "queries_per_sample": rec.queries / m_true if m_true else None,
        "floor_ratio": rec.queries / (m_true * (n + 1)) if m_true else None,
    }
    t_idx, r_idx = found.truth[good], found.recovered[good]
    input_errors = np.zeros(0)
    target_errors = np.zeros(0)
    if rec.scale_known:
        input_errors = _relative_errors(rec.inputs[r_idx], truth.inputs[t_idx])
        if rec.targets is not None and truth.targets is not None:
            if rec.targets.shape[1] != truth.targets.shape[1]:
                raise ConfigurationError(
                    f"recovered targets have {rec.targets.shape[1]} outputs, "
                    f"true targets {truth.targets.shape[1]}"
                )
            target_errors = _relative_errors(rec.targets[r_idx], truth.targets[t_idx])
    report.update(_summary(input_errors, "input_rel_error"))
    report.update(_summary(target_errors, "target_rel_error"))
    return report

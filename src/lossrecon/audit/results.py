"""What an audit found: per client and split, the samples recovered and what it cost;
the defenses measured; a verdict in one sentence. JSON-ready, the report's one source."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from lossrecon.audit.defenses import DefenseResult
from lossrecon.evaluation import evaluate
from lossrecon.reconstruction import Reconstruction

__all__ = ["AuditResult", "SplitResult", "score"]


def on_a_grid(rec: Reconstruction) -> bool:
    """Whether the attack found the inputs on a grid (and so may read them exactly):
    snapped to one, or read packed on one."""
    stats = rec.stats
    return any(g is not None for g in (stats.grid, stats.pack_grid, stats.pack_feature_grids))


def score(rec: Reconstruction, inputs: np.ndarray, targets: np.ndarray | None) -> dict[str, Any]:
    """``lr.evaluate`` of ``rec`` against the truth, with two counts it lacks: samples
    recovered exactly (``exact``: equal to the truth at the precision the truth is held
    in, float32 data compared as float32 numbers; None where the inputs lie on no grid,
    where no number can be exact and the error bound is the statement) and labels whose
    class matches (``classes``)."""
    out = evaluate(rec, inputs, targets)
    truth = np.asarray(inputs)
    held = truth.dtype if truth.dtype.kind == "f" else np.dtype(np.float64)
    read = np.asarray(rec.inputs).astype(held)
    exact = classes = 0
    for k, x in enumerate(read):
        distance = np.max(np.abs(truth - x), axis=1)
        nearest = int(np.argmin(distance))
        exact += int(distance[nearest] == 0.0)
        if targets is not None and rec.targets is not None and targets.shape[1] > 1:
            classes += int(np.argmax(rec.targets[k]) == np.argmax(targets[nearest]))
    n_true = out["n_true"]
    out["exact"] = exact / n_true if n_true and on_a_grid(rec) else None
    out["precision_held"] = held.name
    has_classes = targets is not None and rec.targets is not None and targets.shape[1] > 1
    out["classes"] = classes / n_true if has_classes and n_true else None
    return out


@dataclass
class SplitResult:
    """One client's one split (``"train"``, ``"evaluate"``; ``"data"`` for a model in
    hand): what the attack recovered and spent (through Flower: the rounds and the wall
    time until its attack ended), scored when the truth is known. ``client`` labels it
    in the report ("1", "2"... in the order of the Flower node ids, ``node_id``);
    ``replayed``: queries answered from a journal of an interrupted run."""

    client: str
    split: str
    reconstruction: Reconstruction | None
    seconds: float
    rounds: int | None = None
    error: str | None = None
    score: dict[str, Any] | None = None
    matched_partition: int | None = None
    num_examples: int | None = None
    node_id: int | None = None
    replayed: int = 0

    @property
    def recovered(self) -> int:
        return 0 if self.reconstruction is None else self.reconstruction.n_samples

    @property
    def queries(self) -> int:
        return 0 if self.reconstruction is None else int(self.reconstruction.queries)

    def to_json(self) -> dict[str, Any]:
        rec = self.reconstruction
        stats = rec.stats if rec is not None else None
        bounds = np.zeros(0) if stats is None else stats.input_error_bounds
        has_bounds = bounds is not None and np.size(bounds) > 0
        bounds = np.asarray(bounds, dtype=float)
        return {
            "client": self.client,
            "node_id": self.node_id,
            "split": self.split,
            "num_examples": self.num_examples,
            "recovered": self.recovered,
            "queries": self.queries,
            "rounds": self.rounds,
            "seconds": self.seconds,
            "replayed": self.replayed,
            "error": self.error,
            "stopped": stats.stopped if stats is not None else None,
            "method": stats.method if stats is not None else None,
            "loss": stats.loss if stats is not None else None,
            "dtype": stats.dtype if stats is not None else None,
            "reduction": stats.reduction if stats is not None else None,
            "grid": stats.grid if stats is not None else None,
            "bits_limit": stats.bits_limit if stats is not None else None,
            "max_error_bound": float(np.max(bounds)) if has_bounds else None,
            "median_error_bound": float(np.median(bounds)) if has_bounds else None,
            "warnings": list(stats.warnings) if stats is not None else [],
            "matched_partition": self.matched_partition,
            "score": self.score,
        }


@dataclass
class AuditResult:
    """An audit: the target, every split read, the defenses measured, the wall time."""

    target: dict[str, Any]
    splits: list[SplitResult]
    defenses: list[DefenseResult] = field(default_factory=list)
    defense_target: str | None = None
    seconds: float = 0.0
    rounds: int | None = None
    truth: bool = False
    image_shape: tuple[int, int] | None = None
    notes: list[str] = field(default_factory=list)
    originals: dict[tuple[str, str], np.ndarray] = field(default_factory=dict)

    @property
    def recovered(self) -> int:
        return sum(s.recovered for s in self.splits)

    def problems(self) -> list[str]:
        """What kept the audit from reading everything, one line each: a split the app
        answers in no way lossrecon reads, a client lost or failing, an attack stopped
        early (its budget, answers that contradict the threat model)."""
        lines = list(self.notes)
        for split in self.splits:
            where = f"client {split.client} {split.split}"
            if split.error is not None:
                lines.append(f"{where}: {split.error}")
            elif split.reconstruction is not None and split.reconstruction.stats.stopped:
                lines.append(f"{where}: {split.reconstruction.stats.stop_note()}")
        return lines

    def verdict(self) -> str:
        """The audit in one sentence."""
        flower = self.rounds is not None
        source, verb = ("reported losses", "leak") if flower else ("loss", "leaks")
        where = f" through {self.rounds:,} rounds" if flower else ""
        if self.recovered == 0:
            return (
                f"lossrecon recovered no training sample from the {source}{where}: on this "
                "target the attack did not get through (see the errors below)."
            )
        if not self.truth:
            return (
                f"The {source} {verb} the data: lossrecon reconstructed {self.recovered:,} "
                f"samples{where}, each with an error bound; no truth was given, so they "
                "are shown, not scored."
            )
        scores = [s.score or {} for s in self.splits]
        total = sum(sc.get("n_true") or 0 for sc in scores)
        matched = sum(sc.get("n_matched") or 0 for sc in scores)
        share = matched / total if total else 0.0
        how = self._how_exactly(scores, total)
        where = f", through {self.rounds:,} rounds" if flower else ""
        return (
            f"The {source} {verb} the data: lossrecon recovered {matched:,} of {total:,} "
            f"training samples ({share:.0%}), {how}{where}."
        )

    def _how_exactly(self, scores: list[dict[str, Any]], total: int) -> str:
        """What "exactly" the scores claim: equal to the data at the precision it is held
        in, where the inputs lie on a grid; else the error bound is the statement."""
        gridded = [sc for sc in scores if sc.get("exact") is not None]
        if not gridded:
            bounds = [
                b for s in self.splits if (b := s.to_json()["median_error_bound"]) is not None
            ]
            bound = f" (median {np.median(bounds):.2g})" if bounds else ""
            return f"each within its stated error bound{bound}; the data lie on no grid"
        exact = sum(round(sc["exact"] * (sc.get("n_true") or 0)) for sc in gridded)
        held = " and ".join(sorted({sc.get("precision_held", "float64") for sc in gridded}))
        if exact == total:
            return f"every one exactly (equal to the data as held, in {held})"
        return f"{exact:,} of them exactly (equal to the data as held, in {held})"

    def to_json(self) -> dict[str, Any]:
        return {
            "format": "lossrecon.Audit/1",
            "verdict": self.verdict(),
            "target": self.target,
            "truth": self.truth,
            "seconds": self.seconds,
            "rounds": self.rounds,
            "recovered": self.recovered,
            "splits": [s.to_json() for s in self.splits],
            "defense_target": self.defense_target,
            "defenses": [d.to_json() for d in self.defenses],
            "notes": list(self.notes),
            "problems": self.problems(),
        }

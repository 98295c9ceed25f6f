"""Defenses measured on the user's own target: the recall each leaves, and its cost.

A defense is a way the client could report its loss instead: rounded to k digits,
with relative noise, through a client mod (Flower's ``LocalDpMod``), or computed in
float16. :func:`measure` runs the attack against each defended oracle and scores it
against the truth; the cost to the user is how much the defense changes the loss they
report, the median relative change over honest weights (the model's own, and
perturbations of it).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from lossrecon.errors import LossreconError
from lossrecon.evaluation import evaluate
from lossrecon.oracle.defenses import NoisyLoss, RoundedLoss
from lossrecon.reconstruction import Reconstruction

__all__ = ["Defense", "DefenseResult", "answer_defenses", "measure"]

Oracle = Any
Attack = Callable[[Oracle], Reconstruction]


@dataclass(frozen=True)
class Defense:
    """A defense at one strength: ``family`` ("rounding", "noise", "LocalDpMod",
    "float16"), ``strength`` (the number plotted: digits kept, relative noise...),
    ``label`` for the report, and ``oracle()`` building the defended oracle."""

    family: str
    strength: float
    label: str
    oracle: Callable[[], Oracle]


@dataclass
class DefenseResult:
    """What one defense left: recall (at tau 1e-6, and ``recall_coarse`` at 1e-3: a
    sample known to three digits is still leaked) and samples recovered, the queries
    spent, and the cost (median relative change of the reported loss); ``error`` is what
    failed or stopped the attack under it."""

    family: str
    strength: float
    label: str
    recall: float | None
    recall_coarse: float | None
    recovered: int
    queries: int | None
    loss_change: float | None
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def answer_defenses(
    oracle: Callable[[], Oracle],
    digits: Sequence[int] = (8, 6, 4, 3),
    noise: Sequence[float] = (1e-6, 1e-4, 1e-2),
) -> list[Defense]:
    """Rounding and relative noise on the answers of a fresh ``oracle()``."""

    def rounded(k: int) -> Callable[[], Oracle]:
        return lambda: RoundedLoss(oracle(), k)

    def noisy(sigma: float) -> Callable[[], Oracle]:
        return lambda: NoisyLoss(oracle(), sigma)

    out = [Defense("rounding", float(k), f"rounded to {k} digits", rounded(k)) for k in digits]
    out += [Defense("noise", s, f"relative noise {s:g}", noisy(s)) for s in noise]
    return out


def _loss_change(plain: Oracle, defended: Oracle, honest: np.ndarray) -> float:
    """Median |defended - plain| / |plain| over the honest weight vectors (K, N)."""
    a, b = plain(honest), defended(honest)
    return float(np.median(np.abs(b - a) / np.maximum(np.abs(a), np.finfo(float).tiny)))


def honest_weights(w0: np.ndarray, count: int = 8, seed: int = 0) -> np.ndarray:
    """The model's own weights and ``count - 1`` perturbations of them, shape (count, N):
    where a user evaluates their loss."""
    rng = np.random.default_rng(seed)
    spread = np.std(w0) if np.std(w0) > 0 else 1.0
    noise = 0.1 * spread * rng.standard_normal((count - 1, len(w0)))
    return np.vstack([w0, w0 + noise])


def measure(
    defenses: Sequence[Defense],
    plain: Oracle,
    attack: Attack,
    honest: np.ndarray,
    truth: tuple[np.ndarray, np.ndarray] | None,
    on_result: Callable[[DefenseResult], None] | None = None,
) -> list[DefenseResult]:
    """Attack each defended oracle; score it against ``truth`` ((M, n), (M, d)) when
    given. A defense under which the client or the attack fails is a row with its
    error."""
    results = []
    for defense in defenses:
        change = None
        try:
            change = _loss_change(plain, defense.oracle(), honest)
            rec = attack(defense.oracle())
        except LossreconError as exc:
            row = DefenseResult(
                defense.family,
                defense.strength,
                defense.label,
                0.0 if truth else None,
                0.0 if truth else None,
                0,
                None,
                change,
                f"{type(exc).__name__}: {exc}",
            )
        else:
            fine = evaluate(rec, *truth)["recall"] if truth is not None else None
            coarse = evaluate(rec, *truth, tau=1e-3)["recall"] if truth is not None else None
            row = DefenseResult(
                defense.family,
                defense.strength,
                defense.label,
                fine,
                coarse,
                rec.n_samples,
                rec.queries,
                change,
                rec.stats.stop_note(),
            )
        results.append(row)
        if on_result is not None:
            on_result(row)
    return results

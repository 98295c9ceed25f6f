"""Query accounting and answer validation around any loss oracle.

Every attack talks to its oracle through a :class:`CountingOracle`: it counts the rows
evaluated, refuses a batch that would overrun the budget before sending it, and checks
every answer, so a broken oracle can never produce a silent wrong result.
"""

from __future__ import annotations

import numpy as np

from lossrecon.errors import BudgetExceeded, ConfigurationError, OracleError, QueryBudgetExceeded
from lossrecon.oracle.protocol import OracleWrapper, validate_oracle

__all__ = ["CountingOracle", "validate_oracle"]


class CountingOracle(OracleWrapper):
    """Wrap an oracle: count queries, honour a budget, validate every answer.

    Parameters
    ----------
    oracle:
        any loss oracle (``n_params`` and ``__call__((K, N)) -> (K,)``).
    budget:
        the largest number of weight vectors that may be evaluated, or None for no limit.
    overflow:
        let non-finite answers through (a loss past its format's range: inf, or NaN where
        inf − inf met inside the network) for an attack that asks again with smaller
        weights and names the failure if that does not help.
    """

    def __init__(self, oracle: object, budget: int | None = None, overflow: bool = False) -> None:
        super().__init__(oracle)
        if budget is not None and budget < 0:
            raise ConfigurationError(f"budget must be non-negative, got {budget}")
        self.budget = budget
        self.overflow = overflow
        self.queries = 0
        self.batches = 0
        self.by_phase: dict[str, int] = {}

    @property
    def remaining(self) -> int | None:
        """Queries left in the budget, or None without a budget."""
        return None if self.budget is None else self.budget - self.queries

    def __call__(self, W: np.ndarray) -> np.ndarray:
        """Evaluate a (K, N) batch (or one (N,) vector, returned as a (1,) array)."""
        W = np.atleast_2d(np.asarray(W, dtype=np.float64))
        if W.ndim != 2 or W.shape[1] != self.n_params:
            raise ConfigurationError(f"queries must have shape (K, {self.n_params}), got {W.shape}")
        if not np.all(np.isfinite(W)):
            raise ConfigurationError("queries must be finite")
        k = W.shape[0]
        if self.budget is not None and self.queries + k > self.budget:
            raise QueryBudgetExceeded(self.budget, self.queries, k)
        batch = self.batches
        try:
            answer = self.oracle(W)
        except BudgetExceeded:
            raise
        except Exception as exc:
            raise OracleError(
                f"oracle raised {type(exc).__name__} on query batch {batch} "
                f"(rows {self.queries}..{self.queries + k - 1}): {exc}"
            ) from exc
        self.queries += k
        self.batches += 1
        return self._checked(answer, k, batch)

    def ask(self, W: np.ndarray, phase: str) -> np.ndarray:
        """Evaluate a (K, N) batch as :meth:`__call__` does, counted under ``phase`` in
        :attr:`by_phase` (the queries an attack spent on each of its steps)."""
        answers = self(W)
        self.by_phase[phase] = self.by_phase.get(phase, 0) + len(answers)
        return answers

    def _checked(self, answer: object, k: int, batch: int) -> np.ndarray:
        where = f"query batch {batch} ({k} rows)"
        try:
            losses = np.asarray(answer, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise OracleError(
                f"oracle answered {type(answer).__name__} {answer!r:.80} to {where}, not numbers"
            ) from exc
        if losses.shape != (k,):
            raise OracleError(f"oracle answered shape {losses.shape} to {where}; expected ({k},)")
        bad = ~np.isfinite(losses)
        if bad.any() and not self.overflow:
            rows = np.flatnonzero(bad)
            raise OracleError(
                f"oracle answered {losses[rows[0]]} for row {rows[0]} of {where} "
                f"({bad.sum()} non-finite values in all)"
            )
        return losses

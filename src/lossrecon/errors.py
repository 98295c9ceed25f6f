"""One error hierarchy for the whole package, rooted at :class:`LossreconError`.

Callers can catch ``LossreconError`` for anything this package raises on purpose;
the subclasses say which boundary was crossed.
"""

from __future__ import annotations

__all__ = [
    "AttackError",
    "BudgetExceeded",
    "ConfigurationError",
    "LossreconError",
    "LossreconWarning",
    "MissingDependencyError",
    "OracleError",
    "QueryBudgetExceeded",
    "TimeBudgetExceeded",
]


class LossreconError(Exception):
    """Root of every error lossrecon raises deliberately."""


class LossreconWarning(UserWarning):
    """Something an attack noticed and could not fix: recorded in the result too."""


class ConfigurationError(LossreconError, ValueError):
    """A parameter given at the boundary is invalid (widths, activation, data shapes...)."""


class OracleError(LossreconError):
    """A loss oracle failed or answered something that is not a finite loss per query."""


class AttackError(LossreconError):
    """An attack met an oracle its threat model does not cover (say, no bias-free ReLU
    layout explains the kinks it found); the message says what it saw."""


class BudgetExceeded(LossreconError):
    """An attack ran out of what it was allowed to spend. Attacks catch it and return
    what they recovered so far, with a warning; wrappers pass it through unchanged."""


class QueryBudgetExceeded(BudgetExceeded):
    """An attack asked for more oracle queries than its budget allows."""

    def __init__(self, budget: int, spent: int, requested: int) -> None:
        self.budget = budget
        self.spent = spent
        self.requested = requested
        super().__init__(
            f"query budget of {budget} exceeded: {spent} already spent, "
            f"a batch of {requested} more was asked for"
        )


class MissingDependencyError(LossreconError, ImportError):
    """An optional dependency is not installed; the message names the extra to install."""

    def __init__(self, package: str, extra: str) -> None:
        super().__init__(f"{package} is needed for this feature: pip install 'lossrecon[{extra}]'")


class TimeBudgetExceeded(BudgetExceeded):
    """An attack ran past the wall time it was given."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        super().__init__(f"wall-time budget of {seconds:g} s exceeded")

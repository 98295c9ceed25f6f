"""One error hierarchy for the whole package, rooted at :class:`LossreconError`.

Callers can catch ``LossreconError`` for anything this package raises on purpose;
the subclasses say which boundary was crossed.
"""

from __future__ import annotations

__all__ = [
    "AttackError",
    "ConfigurationError",
    "LossreconError",
    "MissingDependencyError",
    "OracleError",
    "QueryBudgetExceeded",
]


class LossreconError(Exception):
    """Root of every error lossrecon raises deliberately."""


class ConfigurationError(LossreconError, ValueError):
    """A parameter given at the boundary is invalid (widths, activation, data shapes...)."""


class OracleError(LossreconError):
    """A loss oracle failed or answered something that is not a finite loss per query."""


class AttackError(LossreconError):
    """An attack met an oracle its threat model does not cover (say, no bias-free ReLU
    layout explains the kinks it found); the message says what it saw."""


class QueryBudgetExceeded(LossreconError):
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

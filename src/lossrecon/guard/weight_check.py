"""An optional check of the weights a server sends: refuse what no honest round sends.

A heuristic, not a guarantee: it flags weights far outside the scale of the model's own
initialization and of the rounds it has accepted before (a gate's large weights and
biases), weight matrices with an exact-zero row or two identical rows (units switched
off or copied to drive one sample alone), and values that are not finite. An attacker who
knows the check may keep inside it (what that costs the attack is not measured yet), so
the guard's bound in bits, not this check, is the guarantee.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from lossrecon.errors import ConfigurationError

__all__ = ["WeightCheck"]


@dataclass(frozen=True)
class WeightCheck:
    """Flags a received state (name -> array) against ``initial``, the model's own
    initialization (name -> array), and ``accepted``, the largest magnitude per tensor
    the node has accepted so far.

    A tensor may reach ``growth`` times its reference magnitude: the larger of its own
    initial magnitude, the largest it has been accepted at, and the median initial
    magnitude of all the model's tensors (so that a tensor initialized at zero, a bias
    say, may still train).
    """

    initial: Mapping[str, np.ndarray]
    growth: float = 10.0

    def __post_init__(self) -> None:
        if not self.growth > 1:
            raise ConfigurationError(f"growth must be above 1, got {self.growth!r}")
        if not self.initial:
            raise ConfigurationError("the weight check needs the model's initial state")

    def _floor(self) -> float:
        return float(np.median([np.max(np.abs(a), initial=0.0) for a in self.initial.values()]))

    def named(self, state: Mapping[str, np.ndarray]) -> dict[str, np.ndarray] | None:
        """``state`` under the model's names: as sent when the keys are the model's
        (the Message API sends the state_dict), else in order (a legacy ``Parameters``
        list); None when the arrays are not the model's."""
        if set(state) <= set(self.initial):
            return dict(state)
        if len(state) == len(self.initial):
            return dict(zip(self.initial, state.values(), strict=True))
        return None

    def findings(self, state: Mapping[str, np.ndarray], accepted: Mapping[str, float]) -> list[str]:
        """What is wrong with ``state`` (under the model's names, see :meth:`named`),
        one line a finding (empty: nothing)."""
        floor = self._floor()
        found = []
        for name, array in state.items():
            values = np.asarray(array, dtype=np.float64)
            if not np.all(np.isfinite(values)):
                found.append(f"{name} holds values that are not finite")
                continue
            own = float(np.max(np.abs(self.initial[name]), initial=0.0))
            reference = max(own, accepted.get(name, 0.0), floor)
            largest = float(np.max(np.abs(values), initial=0.0))
            if largest > self.growth * reference:
                found.append(
                    f"{name} reaches {largest:.3g}, {largest / reference:.0f} times its "
                    f"reference {reference:.3g}"
                )
            if values.ndim >= 2:
                rows = values.reshape(len(values), -1)
                zero = int(np.sum(~rows.any(axis=1)))
                if zero:
                    found.append(f"{name} has {zero} rows of exact zeros")
                nonzero = rows[rows.any(axis=1)]
                copies = len(nonzero) - len(np.unique(nonzero, axis=0))
                if copies:
                    found.append(f"{name} has {copies} rows that repeat another")
        return found

    @staticmethod
    def magnitudes(state: Mapping[str, np.ndarray]) -> dict[str, float]:
        """The largest magnitude of each tensor: what an accepted state adds to the
        node's record."""
        return {
            name: float(np.max(np.abs(np.asarray(a, dtype=np.float64)), initial=0.0))
            for name, a in state.items()
        }

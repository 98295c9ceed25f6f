"""The failure contract every attack keeps, in one place.

- **Raises before the first query** — :class:`~lossrecon.errors.ConfigurationError`:
  bad parameters, an architecture the attack cannot drive, a declared loss it cannot
  read. Where only the answers show it (a bias-free network's client that turns out to
  compute cross-entropy or in half precision), right after the probe that shows it.
- **Raises** :class:`~lossrecon.errors.AttackError`: the answers contradict the threat
  model (say, no bias-free ReLU layout explains the kinks the blind attack read) before
  any sample was read.
- **Returns what it has, with a warning** — everything recovered so far, never
  nothing:
  a spent budget (queries or wall time: :class:`~lossrecon.errors.BudgetExceeded`),
  a failed oracle (a lost client, a crash: :class:`~lossrecon.errors.OracleError`), a
  loss whose kinks cannot be read (noise, rounding, a smooth activation), or answers
  that contradict the threat model once samples were read (an ``AttackError``). Then
  ``rec.stats.stopped`` says which ("budget", "oracle", "unreadable").
- **Progress**: ``progress(phase, queries, samples)``, when given, is called as the
  attack goes.
- **Every warning** is recorded in ``rec.stats.warnings`` and emitted once, as a
  :class:`~lossrecon.errors.LossreconWarning`, when the attack returns.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable

from lossrecon.errors import AttackError, BudgetExceeded, LossreconWarning, OracleError
from lossrecon.reconstruction import RunStats, Stopped

__all__ = ["EARLY_STOPS", "Progress", "emit", "stop_reason"]

EARLY_STOPS = (BudgetExceeded, OracleError)
Progress = Callable[[str, int, int], None]


def stop_reason(exc: Exception) -> Stopped:
    """What an early stop is called in :attr:`RunStats.stopped`: a spent budget, a
    failed oracle, or answers that contradict the threat model."""
    if isinstance(exc, BudgetExceeded):
        return "budget"
    return "unreadable" if isinstance(exc, AttackError) else "oracle"


def emit(stats: RunStats, stacklevel: int = 3) -> None:
    """Emit every warning a run recorded."""
    for message in stats.warnings:
        warnings.warn(message, LossreconWarning, stacklevel=stacklevel)

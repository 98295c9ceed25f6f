"""Checkpoint and resume: a journal of every answered batch, replayed on the next run.

The attacks are deterministic given their seed and the answers they get, so a run that
was interrupted — Ctrl-C, a crashed oracle, a lost client — asks the same batches again,
in the same order, when it is started again with the same seed. :class:`JournalOracle`
appends each answered batch (its weight vectors and losses) to a file as soon as it
arrives; on the next run it answers those batches from the file and sends only the rest
to the oracle. Nothing answered is asked twice, and everything recovered from it comes
back.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from lossrecon.errors import ConfigurationError
from lossrecon.oracle.protocol import OracleWrapper

__all__ = ["JournalOracle"]


class JournalOracle(OracleWrapper):
    """Wrap an oracle so that every answered batch is kept in ``path`` and replayed.

    ``replayed`` counts the rows answered from the journal in this run, ``asked`` those
    sent to the oracle. A run whose batches differ from the journal's (another seed,
    another attack) is refused rather than mixed with it.
    """

    def __init__(self, oracle: object, path: str | Path) -> None:
        super().__init__(oracle)
        self.path = Path(path)
        self.entries = self._load()
        self.position = 0
        self.replayed = 0
        self.asked = 0

    def _load(self) -> list[tuple[np.ndarray, np.ndarray]]:
        """The complete records of the journal (a record cut off by a crash is dropped,
        and the file truncated to the last complete one)."""
        entries: list[tuple[np.ndarray, np.ndarray]] = []
        if not self.path.exists():
            return entries
        end = 0
        with self.path.open("rb") as handle:
            while True:
                try:
                    W = np.load(handle, allow_pickle=False)
                    losses = np.load(handle, allow_pickle=False)
                except (ValueError, EOFError, OSError):
                    break
                entries.append((W, losses))
                end = handle.tell()
        with self.path.open("r+b") as handle:
            handle.truncate(end)
        return entries

    def __call__(self, W: np.ndarray) -> np.ndarray:
        W = np.atleast_2d(np.asarray(W, dtype=np.float64))
        if self.position < len(self.entries):
            recorded, losses = self.entries[self.position]
            if recorded.shape != W.shape or not np.array_equal(recorded, W):
                raise ConfigurationError(
                    f"batch {self.position} differs from the journal {self.path}: it was "
                    "written by another attack or seed; use a new journal file"
                )
            self.position += 1
            self.replayed += len(W)
            return losses.copy()
        losses = np.asarray(self.oracle(W), dtype=np.float64)
        with self.path.open("ab") as handle:
            np.save(handle, W)
            np.save(handle, losses)
        self.entries.append((W, losses))
        self.position += 1
        self.asked += len(W)
        return losses

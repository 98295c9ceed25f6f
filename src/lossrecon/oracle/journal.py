"""Checkpoint and resume: a journal of every answered batch, replayed on the next run.

The attacks are deterministic given their seed and the answers they get, so a run that
was interrupted — Ctrl-C, a crashed oracle, a lost client — asks the same batches again,
in the same order, when it is started again with the same seed. :class:`JournalOracle`
appends each answered batch to a file as soon as it arrives; on the next run it answers
those batches from the file and sends only the rest to the oracle. Nothing answered is
asked twice, and everything recovered from it comes back.

What replay needs is the answers and proof that the same weights are asked: a journal
keeps, for every query, a 64-bit fingerprint of its weight vector and its answer, 16
bytes, never the weights (1.6 MB a query for a 3072-64-32-10 MLP). The file is the
line ``lossrecon journal 2`` and then one record a batch: its number of queries K
(4 bytes), K fingerprints (8 bytes each) and K answers (float64). Journals of the first
format, which held the weight vectors, are refused by name.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import BinaryIO

import numpy as np

from lossrecon.errors import ConfigurationError
from lossrecon.oracle.protocol import OracleWrapper

__all__ = ["JournalOracle", "fingerprints"]

_MAGIC = b"lossrecon journal 2\n"
_OLD = b"\x93NUMPY"  # the first format: numpy arrays of the weight vectors and answers
_COUNT = np.dtype("<u4")
_PRINT = np.dtype("<u8")
_ANSWER = np.dtype("<f8")


def fingerprints(W: np.ndarray) -> np.ndarray:
    """A 64-bit fingerprint of each weight vector of a (K, N) batch (K,): BLAKE2b of its
    float64 bytes. Two different vectors share one with probability 2^-64."""
    rows = np.ascontiguousarray(W, dtype=np.float64)
    digests = [hashlib.blake2b(row.tobytes(), digest_size=8).digest() for row in rows]
    return np.frombuffer(b"".join(digests), dtype=_PRINT).copy()


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
        if not self.path.exists() or self.path.stat().st_size == 0:
            self.path.write_bytes(_MAGIC)
            return entries
        with self.path.open("rb") as handle:
            head = handle.read(len(_MAGIC))
            if head != _MAGIC:
                old = head.startswith(_OLD)
                raise ConfigurationError(
                    f"{self.path} is not a journal lossrecon reads"
                    + (
                        " (a journal of the first format, which kept every weight vector):"
                        if old
                        else ":"
                    )
                    + " start a new journal (another file or directory)"
                )
            end = handle.tell()
            while (record := _read_record(handle)) is not None:
                entries.append(record)
                end = handle.tell()
        with self.path.open("r+b") as handle:
            handle.truncate(end)
        return entries

    def __call__(self, W: np.ndarray) -> np.ndarray:
        W = np.atleast_2d(np.asarray(W, dtype=np.float64))
        prints = fingerprints(W)
        if self.position < len(self.entries):
            recorded, losses = self.entries[self.position]
            if not np.array_equal(recorded, prints):
                raise ConfigurationError(
                    f"batch {self.position} differs from the journal {self.path}: it was "
                    "written by another attack or seed; use a new journal file"
                )
            self.position += 1
            self.replayed += len(W)
            return losses.copy()
        losses = np.asarray(self.oracle(W), dtype=np.float64)
        with self.path.open("ab") as handle:
            handle.write(np.array([len(W)], dtype=_COUNT).tobytes())
            handle.write(prints.astype(_PRINT).tobytes())
            handle.write(losses.astype(_ANSWER).tobytes())
        self.entries.append((prints, losses))
        self.position += 1
        self.asked += len(W)
        return losses


def _read_record(handle: BinaryIO) -> tuple[np.ndarray, np.ndarray] | None:
    """One batch's fingerprints and answers, or None at the end (or a cut-off record)."""
    count = handle.read(_COUNT.itemsize)
    if len(count) < _COUNT.itemsize:
        return None
    k = int(np.frombuffer(count, dtype=_COUNT)[0])
    body = handle.read(k * (_PRINT.itemsize + _ANSWER.itemsize))
    if len(body) < k * (_PRINT.itemsize + _ANSWER.itemsize):
        return None
    prints = np.frombuffer(body[: k * _PRINT.itemsize], dtype=_PRINT).copy()
    answers = np.frombuffer(body[k * _PRINT.itemsize :], dtype=_ANSWER).astype(np.float64)
    return prints, answers

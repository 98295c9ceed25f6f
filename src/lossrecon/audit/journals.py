"""Resuming an interrupted Flower audit: one journal per client and split, found again
by what the client answers, not by its node id.

Flower gives SuperNodes new random node ids at every run, so a journal cannot be named
after one. Instead each client is first asked the loss at two fixed pseudo-random weight
vectors: the answers depend on its data, so they fingerprint it. A journal whose client
had the same split, the same M and the same two answers (to 1e-5, the float32 noise of
a reshuffled training loop far inside it) is this client's; it is replayed
(:class:`~lossrecon.oracle.journal.JournalOracle`) and the rounds it holds are not asked
again. Anything else starts a new journal.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import numpy as np

from lossrecon.oracle.journal import JournalOracle

__all__ = ["ClientJournals"]

_TOLERANCE = 1e-5


class ClientJournals:
    """The journals of one audit, in ``directory`` (``index.json`` says whose is which)."""

    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.index_path = self.directory / "index.json"
        self.lock = threading.Lock()
        self.taken: set[str] = set()  # journals this run has given out

    def _index(self) -> list[dict[str, Any]]:
        if not self.index_path.exists():
            return []
        entries: list[dict[str, Any]] = json.loads(self.index_path.read_text())
        return entries

    @staticmethod
    def fingerprint_rows(n_params: int) -> np.ndarray:
        """The two weight vectors every client is asked first, shape (2, N)."""
        return 0.3 * np.random.default_rng(20181018).standard_normal((2, n_params))

    def open(self, oracle: Any, split: str, num_examples: int | None) -> JournalOracle:
        """This client's journal (asking it the two fingerprint queries first)."""
        answers = [float(a) for a in oracle(self.fingerprint_rows(oracle.n_params))]
        with self.lock:
            index = self._index()
            for entry in index:
                same = entry["split"] == split and entry["num_examples"] == num_examples
                close = np.allclose(entry["answers"], answers, rtol=_TOLERANCE, atol=0.0)
                if same and close and entry["file"] not in self.taken:
                    path = self.directory / entry["file"]
                    break
            else:
                path = self.directory / f"{split}-{len(index)}.journal"
                entry = {
                    "file": path.name,
                    "split": split,
                    "num_examples": num_examples,
                    "answers": answers,
                }
                index.append(entry)
                self.index_path.write_text(json.dumps(index, indent=1))
            self.taken.add(path.name)
        return JournalOracle(oracle, path)

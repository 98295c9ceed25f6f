"""The guard's account, in the manner of a privacy accountant: which weight vectors a node
has answered in a run, what it answered, and the bits that spent against the bound.

The account lives in the node's persistent state (``context.state``, which Flower keeps
across a run's rounds) and, where the app gives a directory, in a JSON file there too, so
that it survives a restarted client. The two are merged by union: an answer recorded in
either counts, so losing one copy never refunds the budget.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

__all__ = ["STATE_KEY", "Account", "Answer", "Scope", "load_account", "save_account"]

Scope = Literal["run", "node"]
STATE_KEY = "lossrecon.guard"


@dataclass(frozen=True)
class Answer:
    """One answered weight vector: its metrics as reported (position -> grid value), and
    the bits they carry (``bits`` per metric)."""

    values: dict[str, float]
    bits: int

    @property
    def spent(self) -> int:
        return self.bits * len(self.values)


@dataclass
class Account:
    """What one node has answered in one run (``scope="run"``) or in all runs
    (``scope="node"``).

    ``answers`` maps a fingerprint of each distinct instruction answered (message type,
    weights, config) to its :class:`Answer`; ``clipped`` counts metrics outside their
    range, ``refused`` the instructions turned away once the budget was spent,
    ``flagged`` those the weight check turned away; ``scales`` is the largest magnitude
    of each tensor the check has accepted.
    """

    run_id: int
    node_id: int
    max_answers: int
    answers: dict[str, Answer] = field(default_factory=dict)
    clipped: int = 0
    refused: int = 0
    flagged: int = 0
    scales: dict[str, float] = field(default_factory=dict)

    @property
    def answered(self) -> int:
        return len(self.answers)

    @property
    def remaining(self) -> int:
        return max(self.max_answers - self.answered, 0)

    @property
    def bits_spent(self) -> int:
        """Bits the answers so far can carry about the data: b per reported metric."""
        return sum(answer.spent for answer in self.answers.values())

    @property
    def widest(self) -> int:
        """The most bits one answer has carried (b times its metrics)."""
        return max((answer.spent for answer in self.answers.values()), default=0)

    @property
    def bound_bits(self) -> int:
        """The bound on everything the guarded metrics can reveal: Q answers, each as wide
        as the widest so far."""
        return self.max_answers * self.widest

    def summary(self) -> str:
        return (
            f"node {self.node_id}, run {self.run_id}: "
            f"{self.answered} of {self.max_answers} answers, "
            f"{self.bits_spent:,} bits spent, bound {self.bound_bits:,} bits"
            + (f", {self.clipped} metrics clipped" if self.clipped else "")
            + (f", {self.refused} refused" if self.refused else "")
            + (f", {self.flagged} flagged by the weight check" if self.flagged else "")
        )

    def merge(self, other: Account) -> None:
        """Take in every answer and count ``other`` holds (the union of two copies)."""
        for key, answer in other.answers.items():
            self.answers.setdefault(key, answer)
        self.clipped = max(self.clipped, other.clipped)
        self.refused = max(self.refused, other.refused)
        self.flagged = max(self.flagged, other.flagged)
        for name, scale in other.scales.items():
            self.scales[name] = max(scale, self.scales.get(name, 0.0))

    def to_json(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "node_id": self.node_id,
            "max_answers": self.max_answers,
            "answers": {k: {"bits": a.bits, "values": a.values} for k, a in self.answers.items()},
            "clipped": self.clipped,
            "refused": self.refused,
            "flagged": self.flagged,
            "scales": self.scales,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Account:
        answers = {
            k: Answer({p: float(v) for p, v in a["values"].items()}, int(a["bits"]))
            for k, a in data["answers"].items()
        }
        return cls(
            int(data["run_id"]),
            int(data["node_id"]),
            int(data["max_answers"]),
            answers,
            int(data["clipped"]),
            int(data["refused"]),
            int(data["flagged"]),
            {k: float(v) for k, v in data["scales"].items()},
        )


def _file(directory: Path, run_id: int, node_id: int, scope: Scope) -> Path:
    name = (
        f"guard-node{node_id}.json" if scope == "node" else f"guard-run{run_id}-node{node_id}.json"
    )
    return directory / name


def load_account(context: Any, max_answers: int, directory: Path | None, scope: Scope) -> Account:
    """The node's account from its state and from ``directory``, merged; a new one if
    neither holds it. ``max_answers`` is the budget configured now."""
    account = Account(int(context.run_id), int(context.node_id), max_answers)
    record = context.state.config_records.get(STATE_KEY)
    if record is not None:
        account.merge(Account.from_json(json.loads(str(record["account"]))))
    if directory is not None:
        path = _file(directory, account.run_id, account.node_id, scope)
        if path.exists():
            account.merge(Account.from_json(json.loads(path.read_text())))
    return account


def save_account(context: Any, account: Account, directory: Path | None, scope: Scope) -> None:
    """Write the account to the node's state and, atomically, to ``directory``."""
    from flwr.app import ConfigRecord

    text = json.dumps(account.to_json())
    context.state.config_records[STATE_KEY] = ConfigRecord({"account": text})
    if directory is None:
        return
    directory.mkdir(parents=True, exist_ok=True)
    path = _file(directory, account.run_id, account.node_id, scope)
    handle, tmp = tempfile.mkstemp(dir=directory, prefix=path.name, suffix=".tmp")
    with os.fdopen(handle, "w") as out:
        out.write(text)
    os.replace(tmp, path)

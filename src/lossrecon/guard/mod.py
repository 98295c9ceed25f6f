"""``loss_guard``: a Flower client mod that bounds, in bits, what reported metrics reveal.

Every floating-point metric of a reply (``eval_loss``, ``train_loss``, accuracies, a
legacy ``EvaluateRes`` loss, anything the app reports) is snapped to a grid of ``2**bits``
values over a declared range, and a node answers at most ``max_answers`` distinct
instructions (message type, weights and config) a run: the same instruction again gets
its stored metrics at no cost, and a new one past the budget gets an error reply naming
the guard. Whatever weights a server sends, the guarded metrics of a run therefore take
at most ``2**(Q*b*k)`` values for k metrics a reply: at most Q*b*k bits about the data.

The mod changes nothing else: the parameters a train reply returns, ``num-examples`` and
every integer, string or bytes value pass through untouched (integers and non-numbers are
named in the log), and training itself runs as it would without the guard.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

from lossrecon.errors import ConfigurationError
from lossrecon.guard.account import Account, Answer, Scope, load_account, save_account
from lossrecon.guard.quantizer import Quantizer
from lossrecon.guard.weight_check import WeightCheck
from lossrecon.optional import require

__all__ = ["DEFAULT_ANSWERS", "DEFAULT_BITS", "DEFAULT_RANGE", "REFUSAL_CODE", "loss_guard"]

DEFAULT_ANSWERS = 50
"""Q the audit measures and recommends: 25 rounds of one train and one evaluate message."""

DEFAULT_BITS = 16
"""b the audit measures: a loss in [0, 10] to 1.5e-4, finer than a training curve needs."""

DEFAULT_RANGE = (0.0, 10.0)
"""The range a metric is reported in unless ``ranges`` names it: a loss of a few nats."""

REFUSAL_CODE = 6
"""Flower's ``ErrorCode.MOD_FAILED_PRECONDITION``: a mod turned the instruction away."""

_LOG = logging.getLogger("flwr")

Message = Any
Context = Any
Mod = Callable[[Message, Context, Callable[[Message, Context], Message]], Message]


def _fingerprint(msg: Message) -> str:
    """A digest of what decides the answer: the message type, every array and config."""
    digest = hashlib.blake2b(digest_size=16)
    digest.update(str(msg.metadata.message_type).encode())
    content = msg.content
    for name in sorted(content.array_records):
        for key, array in sorted(content.array_records[name].items()):
            digest.update(f"{name}/{key}/{array.dtype}/{array.shape}".encode())
            digest.update(array.data)
    for name in sorted(content.config_records):
        digest.update(f"{name}/{sorted(content.config_records[name].items())!r}".encode())
    return digest.hexdigest()


def _floats(content: Any) -> Iterator[tuple[str, Any, str, int | None, float]]:
    """Every floating-point value of a reply: (position, record, key, list index, value)."""
    for kind, records in (("metric", content.metric_records), ("config", content.config_records)):
        for name, record in records.items():
            for key, value in record.items():
                if isinstance(value, float):
                    yield f"{kind}/{name}/{key}", record, key, None, value
                elif isinstance(value, list):
                    for i, item in enumerate(value):
                        if isinstance(item, float):
                            yield f"{kind}/{name}/{key}/{i}", record, key, i, item


def _unguarded(content: Any) -> list[str]:
    """The reported values the guard leaves as they are: integers and non-numbers."""
    names = []
    for records in (content.metric_records, content.config_records):
        for name, record in records.items():
            for key, value in record.items():
                items = value if isinstance(value, list) else [value]
                if items and not all(isinstance(item, float) for item in items):
                    names.append(f"{name}/{key}")
    return names


def _received(msg: Message) -> dict[str, Any]:
    """The arrays an instruction carries, by key, as numpy arrays."""
    return {
        key: array.numpy()
        for record in msg.content.array_records.values()
        for key, array in record.items()
    }


def _initial_state(model: Any) -> dict[str, Any]:
    """A model's initial state as numpy arrays: an ``nn.Module`` or a mapping of arrays."""
    state = model.state_dict() if hasattr(model, "state_dict") else model
    return {k: v.detach().cpu().numpy() if hasattr(v, "detach") else v for k, v in state.items()}


def _checked(check: WeightCheck, msg: Message, account: Account) -> list[str]:
    """The weight check's findings on ``msg``'s arrays; the magnitudes of an accepted
    state raise the node's record of each tensor's scale."""
    received = _received(msg)
    if not received:
        return []
    state = check.named(received)
    if state is None:
        return [f"{len(received)} arrays arrived, the model has {len(check.initial)}"]
    findings = check.findings(state, account.scales)
    if not findings:
        for name, scale in WeightCheck.magnitudes(state).items():
            account.scales[name] = max(scale, account.scales.get(name, 0.0))
    return findings


def _write(record: Any, key: str, index: int | None, value: float) -> None:
    if index is None:
        record[key] = value
    else:
        items = list(record[key])
        items[index] = value
        record[key] = items


class _Guard:
    """The mod's configuration; calling it handles one message (see :func:`loss_guard`)."""

    def __init__(
        self,
        max_answers: int,
        bits: int,
        value_range: tuple[float, float],
        ranges: Mapping[str, tuple[float, float]],
        state_path: Path | None,
        scope: Scope,
        check: WeightCheck | None,
    ) -> None:
        if not (isinstance(max_answers, int) and max_answers >= 1):
            raise ConfigurationError(f"max_answers must be a positive integer, got {max_answers!r}")
        if scope not in ("run", "node"):
            raise ConfigurationError(f"scope must be 'run' or 'node', got {scope!r}")
        self.max_answers = max_answers
        self.bits = bits
        self.default = Quantizer(float(value_range[0]), float(value_range[1]), bits)
        self.ranges = {k: Quantizer(float(lo), float(hi), bits) for k, (lo, hi) in ranges.items()}
        self.state_path = state_path
        self.scope = scope
        self.check = check
        self.named: set[str] = set()

    def quantizer(self, key: str) -> Quantizer:
        return self.ranges.get(key, self.default)

    def __call__(
        self, msg: Message, context: Context, call_next: Callable[[Message, Context], Message]
    ) -> Message:
        account = load_account(context, self.max_answers, self.state_path, self.scope)
        key = _fingerprint(msg)
        if self.check is not None and key not in account.answers:
            findings = _checked(self.check, msg, account)
            if findings:
                account.flagged += 1
                save_account(context, account, self.state_path, self.scope)
                return self._refusal(
                    msg, "its weights fail the weight check: " + "; ".join(findings)
                )
        reply = call_next(msg, context)
        if reply.has_error():
            return reply
        self._name_unguarded(reply.content)
        floats = list(_floats(reply.content))
        if not floats:
            return reply
        stored = account.answers.get(key)
        if stored is None and account.remaining == 0:
            account.refused += 1
            save_account(context, account, self.state_path, self.scope)
            return self._refusal(
                msg,
                f"node {account.node_id} has answered its budget of {account.max_answers} "
                f"distinct weight vectors in run {account.run_id} ({account.bound_bits:,} bits)",
            )
        values = dict(stored.values) if stored is not None else {}
        for position, record, name, index, value in floats:
            if position not in values:
                values[position], clipped = self.quantizer(name).snap(value)
                if clipped:
                    account.clipped += 1
                    _LOG.warning(
                        "lossrecon guard: %s = %r is outside its range, clipped", name, value
                    )
            _write(record, name, index, values[position])
        if stored is None or len(values) > len(stored.values):
            account.answers[key] = Answer(values, self.bits)
            save_account(context, account, self.state_path, self.scope)
            _LOG.info("lossrecon guard: %s", account.summary())
        return reply

    def _name_unguarded(self, content: Any) -> None:
        for name in _unguarded(content):
            if name not in self.named:
                self.named.add(name)
                _LOG.info("lossrecon guard: %s is not a float and passes unguarded", name)

    def _refusal(self, msg: Message, why: str) -> Message:
        app = require("flwr.app", "flower")
        reason = f"lossrecon guard: this {msg.metadata.message_type} instruction is refused: {why}"
        _LOG.warning(reason)
        return app.Message(app.Error(code=REFUSAL_CODE, reason=reason), reply_to=msg)


def loss_guard(
    max_answers: int,
    bits: int,
    *,
    value_range: tuple[float, float] = DEFAULT_RANGE,
    ranges: Mapping[str, tuple[float, float]] | None = None,
    state_path: str | Path | None = None,
    scope: Scope = "run",
    check_weights: Any = None,
    growth: float = 10.0,
) -> Mod:
    """A Flower client mod: ``ClientApp(mods=[loss_guard(max_answers=50, bits=16)])``.

    ``max_answers`` (Q) distinct instructions a node answers in a run (``scope="node"``:
    in all runs, with ``state_path``); ``bits`` (b) per metric; ``value_range`` the range
    every float metric is reported in, ``ranges`` a range per metric name (say
    ``{"eval_acc": (0.0, 1.0)}``); ``state_path`` a directory where the account is also
    kept, so that a restarted client remembers what it has answered. ``check_weights``
    — the app's model as it initializes it (an ``nn.Module``, say ``Net()``, or a
    mapping of arrays) — turns on the weight check (:class:`WeightCheck`, a heuristic):
    weights past ``growth`` times the scale of that initialization and of the rounds
    accepted, exact-zero or repeated rows, are refused before the app sees them.
    """
    path = Path(state_path) if state_path is not None else None
    check = None if check_weights is None else WeightCheck(_initial_state(check_weights), growth)
    return _Guard(max_answers, bits, value_range, dict(ranges or {}), path, scope, check)

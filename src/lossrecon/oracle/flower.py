"""A malicious Flower server: evaluate rounds as loss oracles, one per client.

An honest Flower client answers an evaluate instruction by loading the parameters it
is sent, computing its loss on its private data and reporting ``(loss, num_examples,
metrics)``. A server that chooses those parameters therefore holds a loss oracle per
client, one query per round. :func:`attack_clients` runs an attack against every
connected client at once, inside a ServerApp's main function: each client's attack runs
in its own thread and sees an ordinary batched oracle; the server loop sends every
client its next weight vector in the same round, so attacking many clients costs no
more rounds than attacking one. A client that misses a round (dropped out, timed out)
is asked the same query again in the next rounds until it answers or ``patience``
rounds have passed, so nothing an attack has learnt is lost while it waits.

How a query travels is a :class:`Channel`: Flower's legacy ``EvaluateIns`` (what an
unmodified ``NumPyClient`` answers with its loss; ``FitIns`` for a ``fit`` that reports
its training loss as a metric) or a Message API handler that replies
with a ``MetricRecord`` (``eval_loss`` from ``@app.evaluate``; ``train_loss`` from
``@app.train`` with its learning rate set to 0 in the config, the training-set loss at
the server's weights). One client can be read through several channels at once: each
(client, channel) pair is its own oracle, and all of them share the rounds.

Requires the ``flower`` extra (``flwr[simulation]==1.41.0``).
"""

from __future__ import annotations

import re
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from lossrecon.errors import ConfigurationError, OracleError
from lossrecon.layout import Layout
from lossrecon.optional import require
from lossrecon.oracle.protocol import DeclaredOracle, LossConvention
from lossrecon.reconstruction import Reconstruction

__all__ = [
    "Channel",
    "FlowerRounds",
    "LegacyEvaluate",
    "LegacyFit",
    "MessageChannel",
    "RoundSize",
    "attack_clients",
    "connected_nodes",
    "error_reason",
]

Attack = Callable[[object], Reconstruction]


def _flwr() -> Any:
    common = require("flwr.common", "flower")
    app = require("flwr.app", "flower")
    compat = require("flwr.compat.common.recorddict_compat", "flower")
    return common, app, compat


class Channel:
    """How a weight vector reaches a client and its loss comes back.

    ``name`` labels the split it reads ("evaluate", "train"); ``message_type`` is the
    Flower message type sent; :meth:`content` builds a message's records from the
    model's arrays (state_dict order); :meth:`answer` reads (loss, num_examples) from a
    reply's records.
    """

    name: str = "evaluate"
    message_type: str = "evaluate"

    def describe(self) -> str:
        """The channel as an app's author knows it, for reports."""
        raise NotImplementedError

    def content(self, arrays: list[np.ndarray]) -> Any:
        raise NotImplementedError

    def answer(self, content: Any) -> tuple[float, int]:
        raise NotImplementedError


class LegacyEvaluate(Channel):
    """Flower's legacy ``EvaluateIns``/``EvaluateRes``: a ``NumPyClient.evaluate``."""

    def describe(self) -> str:
        return "NumPyClient.evaluate: its loss"

    def content(self, arrays: list[np.ndarray]) -> Any:
        common, _, compat = _flwr()
        ins = common.EvaluateIns(common.ndarrays_to_parameters(arrays), {})
        return compat.evaluateins_to_recorddict(ins, keep_input=True)

    def answer(self, content: Any) -> tuple[float, int]:
        _, _, compat = _flwr()
        res = compat.recorddict_to_evaluateres(content)
        return float(res.loss), int(res.num_examples)


class LegacyFit(Channel):
    """Flower's legacy ``FitIns``/``FitRes``: a ``NumPyClient.fit`` sent ``config`` (its
    learning rate zeroed) that reports its training loss as the metric ``metric``."""

    name = "train"
    message_type = "train"

    def __init__(self, metric: str = "train_loss", config: dict[str, Any] | None = None) -> None:
        self.metric = metric
        self.config = dict(config or {})

    def describe(self) -> str:
        return f"NumPyClient.fit: its metric {self.metric} at {self.config or 'the app config'}"

    def content(self, arrays: list[np.ndarray]) -> Any:
        common, _, compat = _flwr()
        ins = common.FitIns(common.ndarrays_to_parameters(arrays), dict(self.config))
        return compat.fitins_to_recorddict(ins, keep_input=True)

    def answer(self, content: Any) -> tuple[float, int]:
        _, _, compat = _flwr()
        res = compat.recorddict_to_fitres(content, keep_input=True)
        if self.metric not in res.metrics:
            found = sorted(res.metrics) or "none"
            raise OracleError(f"the fit reply has no metric {self.metric!r} (it has {found})")
        return float(res.metrics[self.metric]), int(res.num_examples)


class MessageChannel(Channel):
    """A Message API handler: ``{"arrays": ArrayRecord, "config": ConfigRecord}`` in,
    a ``MetricRecord`` with ``metric`` and ``"num-examples"`` out (Flower's templates).

    ``keys`` are the model's state_dict keys (the arrays are sent under them, in the
    model's ``dtype``); ``config`` goes in the ConfigRecord (``{"lr": 0.0}`` makes the
    template's train handler report the loss without changing the model).
    """

    def __init__(
        self,
        kind: str,
        keys: Sequence[str],
        *,
        metric: str | None = None,
        config: dict[str, Any] | None = None,
        dtype: str = "float32",
    ) -> None:
        if kind not in ("evaluate", "train"):
            raise ConfigurationError(f"a channel is 'evaluate' or 'train', got {kind!r}")
        self.name = self.message_type = kind
        self.keys = list(keys)
        self.metric = metric or ("eval_loss" if kind == "evaluate" else "train_loss")
        self.config = dict(config or {})
        self.dtype = np.dtype(dtype)

    def describe(self) -> str:
        sent = f" at {self.config}" if self.config else ""
        return f"@app.{self.name}: its metric {self.metric}{sent}"

    def content(self, arrays: list[np.ndarray]) -> Any:
        _, app, _ = _flwr()
        if len(arrays) != len(self.keys):
            raise ConfigurationError(
                f"the model has {len(self.keys)} state_dict entries, the layout {len(arrays)}"
            )
        record = app.ArrayRecord(
            {k: app.Array(a.astype(self.dtype)) for k, a in zip(self.keys, arrays, strict=True)}
        )
        return app.RecordDict({"arrays": record, "config": app.ConfigRecord(self.config)})

    def answer(self, content: Any) -> tuple[float, int]:
        metrics = content.metric_records
        for record in metrics.values():
            if self.metric in record:
                count = record.get("num-examples", record.get("num_examples"))
                if count is None:
                    raise OracleError(f"the {self.name} reply has no 'num-examples' metric")
                return float(record[self.metric]), int(count)
        found = sorted(k for record in metrics.values() for k in record)
        raise OracleError(
            f"the {self.name} reply has no metric {self.metric!r} (it has {found or 'none'})"
        )


@dataclass(eq=False)
class _Query:
    row: np.ndarray
    answer: float | None = None


@dataclass
class _Client:
    """One client read through one channel: its queue of queries and its state."""

    node_id: int
    channel: Channel
    queue: deque[Any] = field(default_factory=deque)
    done: bool = False
    missed: int = 0
    num_examples: int | None = None
    error: str | None = None
    rounds_used: int | None = None
    seconds: float | None = None

    @property
    def key(self) -> tuple[int, str]:
        return self.node_id, self.channel.name


class _ClientOracle(DeclaredOracle):
    """The loss oracle of one client: a batch becomes one query per round."""

    def __init__(self, rounds: FlowerRounds, client: _Client, n_params: int) -> None:
        self.rounds, self.client, self.n_params = rounds, client, n_params

    @property
    def convention(self) -> LossConvention:
        """The server's convention for its clients, with the M this client reports."""
        return self.rounds.convention.overridden(n_samples=self.client.num_examples)

    @property
    def num_examples(self) -> int | None:
        """The training-set size M the client reports with every loss."""
        return self.client.num_examples

    @property
    def key(self) -> tuple[int, str]:
        """(node id, channel name): whose answers these are."""
        return self.client.key

    def __call__(self, W: np.ndarray) -> np.ndarray:
        queries = [_Query(np.asarray(row, dtype=np.float64)) for row in np.atleast_2d(W)]
        with self.rounds.changed:
            self.client.queue.extend(queries)
            self.rounds.changed.notify_all()
            self.rounds.changed.wait_for(
                lambda: (
                    all(q.answer is not None for q in queries)
                    or self.rounds.failed(self.client)
                    or self.rounds.broken is not None
                )
            )
            # Read under the lock: the server loop may be in its next round already.
            broken, missed = self.rounds.broken, self.client.missed
            failed = self.rounds.failed(self.client)
        if broken is not None:
            raise OracleError(f"the server loop stopped: {broken}")
        if failed:
            why = f": {self.client.error}" if self.client.error else ""
            raise OracleError(
                f"client {self.client.node_id} ({self.client.channel.name}) missed {missed} "
                f"rounds in a row{why}"
            )
        return np.array([q.answer for q in queries])


class RoundSize:
    """How many queries each client gets a round: ``fixed``, or, where None, chosen from
    the measured cost of a round. A round takes overhead + per_query · q seconds (the
    messaging, and q passes of the client over its split); rounds of 1 and then 4 queries
    measure both, and from then on q keeps the overhead under a tenth of the round,
    q = 9 overhead / per_query, between 1 and :attr:`LARGEST` (refitted on every round)."""

    LARGEST = 256

    def __init__(self, fixed: int | None) -> None:
        if fixed is not None and fixed < 1:
            raise ConfigurationError(f"queries_per_round must be at least 1, got {fixed}")
        self.fixed = fixed
        self.rounds: list[tuple[int, float]] = []  # (queries a client, seconds)

    def next(self) -> int:
        if self.fixed is not None:
            return self.fixed
        sizes = {q for q, _ in self.rounds}
        if len(sizes) < 2:
            return 4 if 1 in sizes else 1
        queries, seconds = np.array(self.rounds, dtype=float).T
        per_query, overhead = np.polyfit(queries, seconds, 1)
        if per_query <= 0:
            return self.LARGEST
        return int(np.clip(np.round(9.0 * max(overhead, 0.0) / per_query), 1, self.LARGEST))

    def describe(self) -> str:
        """The size rounds have now, and where it came from."""
        if self.fixed is not None:
            return str(self.fixed)
        return f"{self.next()} (from the cost of a round)"

    def measured(self, queries: int, seconds: float) -> None:
        """A round that sent ``queries`` messages to its busiest client took ``seconds``."""
        if self.fixed is None:
            self.rounds.append((queries, seconds))


class FlowerRounds:
    """Evaluate rounds over a Flower grid, shared by one attack thread per client.

    ``widths`` and ``bias`` describe the clients' model (bias-free ``nn.Linear`` layers
    by default), so that a weight vector can be sent as the list of arrays a NumPyClient
    loads; ``loss``, ``reduction`` and ``dtype`` are what the server knows of the
    clients' loss (``None``: nothing, as a server sees only numbers — the gated attack
    reads them off the answers; the hat assumes a squared loss); each client gets up to
    ``queries_per_round`` messages a round on each of ``channels`` (default: the legacy
    evaluate instruction; None: as many as the measured cost of a round asks for,
    :class:`RoundSize`). ``on_round(rounds, clients)`` is called after every round.
    """

    def __init__(
        self,
        grid: Any,
        node_ids: Sequence[int],
        widths: Sequence[int],
        *,
        bias: bool = False,
        loss: str | None = None,
        reduction: str | None = None,
        dtype: str | None = None,
        timeout: float | None = 60.0,
        patience: int = 20,
        queries_per_round: int | None = 1,
        channels: Sequence[Channel] = (),
        on_round: Callable[[int, list[_Client]], None] | None = None,
    ) -> None:
        self.grid = grid
        self.round_size = RoundSize(queries_per_round)
        self.layout = Layout(tuple(widths), bias=bias)
        self.convention = LossConvention(loss, reduction, dtype)  # type: ignore[arg-type]
        self.broken: BaseException | None = None
        self.timeout = timeout
        self.patience = patience
        channels = list(channels) or [LegacyEvaluate()]
        if len({c.name for c in channels}) != len(channels):
            raise ConfigurationError("two channels have the same name")
        self.clients = [_Client(int(node), c) for node in node_ids for c in channels]
        self.on_round = on_round
        self.changed = threading.Condition()
        self.rounds = 0

    def failed(self, client: _Client) -> bool:
        return client.missed >= self.patience

    def run(self, attack: Attack) -> dict[tuple[int, str], Reconstruction | Exception]:
        """Run ``attack(oracle)`` against every (client, channel); returns each result,
        keyed by (node id, channel name). Each client records the rounds and the wall
        time its attack took (``rounds_used``, ``seconds``)."""
        results: dict[tuple[int, str], Reconstruction | Exception] = {}
        start = time.perf_counter()

        def work(client: _Client) -> None:
            try:
                results[client.key] = attack(_ClientOracle(self, client, self.layout.n_params))
            except Exception as exc:  # reported per client, the others go on
                results[client.key] = exc
            finally:
                with self.changed:
                    client.done = True
                    client.rounds_used = self.rounds
                    client.seconds = time.perf_counter() - start
                    self.changed.notify_all()

        # A first round at w = 0 tells each client's num_examples (M, for "mean").
        self.one_round(self.clients, probe=True)
        threads = [threading.Thread(target=work, args=(c,), daemon=True) for c in self.clients]
        for thread in threads:
            thread.start()
        try:
            while True:
                with self.changed:
                    self.changed.wait_for(lambda: all(c.done or c.queue for c in self.clients))
                    # A client that missed `patience` rounds is asked nothing more.
                    waiting = [
                        c for c in self.clients if not c.done and c.queue and not self.failed(c)
                    ]
                    if not waiting:
                        break
                self.one_round(waiting)
        except BaseException as exc:
            # Release every attack thread: each returns what it recovered so far.
            with self.changed:
                self.broken = exc
                self.changed.notify_all()
            raise
        finally:
            for thread in threads:
                thread.join()
        return results

    def one_round(self, clients: Iterable[_Client], probe: bool = False) -> None:
        """Send each client its next queries (w = 0 when probing), in one round; record
        the answers. A query not answered stays first in its client's queue."""
        self.rounds += 1
        size = 1 if probe else self.round_size.next()
        messages, asked = self._messages(clients, probe, size)
        start = time.perf_counter()
        replies = self.grid.send_and_receive(messages, timeout=self.timeout)
        if not probe and asked:
            busiest = max(Counter(client.key for client, _ in asked.values()).values())
            self.round_size.measured(busiest, time.perf_counter() - start)
        self._record(replies, asked)
        if self.on_round is not None:
            self.on_round(self.rounds, self.clients)

    def _messages(
        self, clients: Iterable[_Client], probe: bool, size: int
    ) -> tuple[list[Any], dict[Any, Any]]:
        """This round's messages, and (node, group id) -> (client, query)."""
        _, app, _ = _flwr()
        messages, asked = [], {}
        for client in clients:
            if probe:
                client.queue.appendleft(_Query(np.zeros(self.layout.n_params)))
            count = 1 if probe else min(size, len(client.queue))
            for k in range(count):
                query = client.queue[k]
                group = f"{self.rounds}.{client.channel.name}.{k}"
                messages.append(
                    app.Message(
                        client.channel.content(self.layout.arrays(query.row)),
                        client.node_id,
                        client.channel.message_type,
                        ttl=self.timeout,
                        group_id=group,
                    )
                )
                asked[client.node_id, group] = client, query
        return messages, asked

    def _record(self, replies: Iterable[Any], asked: dict[Any, Any]) -> None:
        """Answer the queries replied to; count a missed round for a silent client (and
        keep the error a failing one replied with, to say why it failed)."""
        with self.changed:
            answered = set()
            for reply in replies:
                key = (reply.metadata.src_node_id, reply.metadata.group_id)
                if key not in asked:
                    continue
                client, query = asked[key]
                if reply.has_error():
                    client.error = error_reason(str(reply.error.reason))
                    continue
                try:
                    query.answer, client.num_examples = client.channel.answer(reply.content)
                except OracleError as exc:
                    client.error = str(exc)
                    continue
                client.queue.remove(query)
                answered.add(client.key)
            for client in {client.key: client for client, _ in asked.values()}.values():
                client.missed = 0 if client.key in answered else client.missed + 1
            self.changed.notify_all()


# Flower wraps a ClientApp's exception as "<class 'Type'>:<'message'>", the message
# often a whole traceback.
_WRAPPED = re.compile(r"^<class '(?P<kind>[\w.]+)'>:<'(?P<text>.*)'>$", re.DOTALL)


def error_reason(reason: str) -> str:
    """A client's error reply in one line: the last line of what its code raised, out of
    Flower's wrapping (at most 300 characters)."""
    text = reason.strip()
    match = _WRAPPED.match(text)
    if match:
        text = match["text"].strip() or match["kind"].rsplit(".", 1)[-1]
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1][:300] if lines else "(no reason given)"


def connected_nodes(grid: Any, count: int, timeout: float | None) -> list[int]:
    """The node ids of the grid once ``count`` clients are connected."""
    deadline = None if timeout is None else time.monotonic() + timeout
    while True:
        nodes = list(grid.get_node_ids())
        if len(nodes) >= count:
            return nodes
        if deadline is not None and time.monotonic() > deadline:
            raise OracleError(f"{len(nodes)} clients connected after {timeout} s, expected {count}")
        time.sleep(0.1)


def attack_clients(
    grid: Any,
    widths: Sequence[int],
    attack: Attack,
    *,
    bias: bool = False,
    loss: str | None = None,
    reduction: str | None = None,
    node_ids: Sequence[int] | None = None,
    min_clients: int = 1,
    timeout: float | None = 60.0,
    patience: int = 20,
    queries_per_round: int = 1,
) -> tuple[dict[int, Reconstruction | Exception], int]:
    """Attack every client of a Flower grid (or those in ``node_ids``) in shared rounds.

    Call it from a ServerApp's main function; without ``node_ids`` it waits (up to
    ``timeout``) until ``min_clients`` clients are connected. ``attack(oracle)`` is run
    once per client, for example
    ``lambda o: lr.attacks.chosen_weights(o, widths, bias=True)``: each client's oracle
    declares the server's ``loss`` and ``reduction`` (``loss=None``: unknown, read off
    the answers by the gated attack) and, as ``n_samples``, the ``num_examples`` the
    client reports (known from a first probing round), so the attack reads M from it.
    ``queries_per_round`` evaluate messages go to each client a round (1: what a
    Strategy-driven server sends). Returns each client's Reconstruction (or the
    exception that stopped its attack) and the number of evaluate rounds used.
    """
    nodes = list(node_ids) if node_ids is not None else connected_nodes(grid, min_clients, timeout)
    rounds = FlowerRounds(
        grid,
        nodes,
        widths,
        bias=bias,
        loss=loss,
        reduction=reduction,
        timeout=timeout,
        patience=patience,
        queries_per_round=queries_per_round,
    )
    results = rounds.run(attack)
    return {node: result for (node, _), result in results.items()}, rounds.rounds

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

Requires the ``flower`` extra (``flwr[simulation]==1.41.0``).
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from lossrecon.errors import ConfigurationError, OracleError
from lossrecon.layout import Layout
from lossrecon.optional import require
from lossrecon.oracle.protocol import DeclaredOracle, LossConvention
from lossrecon.reconstruction import Reconstruction

__all__ = ["FlowerRounds", "attack_clients"]

Attack = Callable[[object], Reconstruction]


def _flwr():
    common = require("flwr.common", "flower")
    app = require("flwr.app", "flower")
    compat = require("flwr.compat.common.recorddict_compat", "flower")
    return common, app, compat


@dataclass(eq=False)
class _Query:
    row: np.ndarray
    answer: float | None = None


@dataclass
class _Client:
    node_id: int
    queue: deque = field(default_factory=deque)
    done: bool = False
    missed: int = 0
    num_examples: int | None = None


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
            raise OracleError(f"client {self.client.node_id} missed {missed} rounds in a row")
        return np.array([q.answer for q in queries])


class FlowerRounds:
    """Evaluate rounds over a Flower grid, shared by one attack thread per client.

    ``widths`` and ``bias`` describe the clients' model (bias-free ``nn.Linear`` layers
    by default), so that a weight vector can be sent as the list of arrays a NumPyClient
    loads; ``loss`` and ``reduction`` are what the server knows of the clients' loss
    (``None``: nothing, as a server sees only numbers — the gated attack reads both off
    the answers; the hat assumes a squared loss); each client gets up to
    ``queries_per_round`` evaluate messages a round.
    """

    def __init__(
        self,
        grid: Any,
        node_ids: Sequence[int],
        widths: Sequence[int],
        *,
        bias: bool = False,
        loss: str | None = None,
        reduction: str | None = "mean",
        timeout: float | None = 60.0,
        patience: int = 20,
        queries_per_round: int = 1,
    ) -> None:
        if queries_per_round < 1:
            raise ConfigurationError(
                f"queries_per_round must be at least 1, got {queries_per_round}"
            )
        self.grid = grid
        self.queries_per_round = queries_per_round
        self.layout = Layout(tuple(widths), bias=bias)
        self.convention = LossConvention(loss, reduction)  # type: ignore[arg-type]
        self.broken: BaseException | None = None
        self.timeout = timeout
        self.patience = patience
        self.clients = [_Client(int(node)) for node in node_ids]
        self.changed = threading.Condition()
        self.rounds = 0

    def failed(self, client: _Client) -> bool:
        return client.missed >= self.patience

    def arrays(self, row: np.ndarray) -> list[np.ndarray]:
        """A weight vector as the arrays of the client's state_dict, in order."""
        out = []
        for matrix, bias in self.layout.unflatten(row):
            out.append(np.array(matrix))
            if bias is not None:
                out.append(np.array(bias))
        return out

    def run(self, attack: Attack) -> dict[int, Reconstruction | Exception]:
        """Run ``attack(oracle)`` against every client; returns each one's result."""
        results: dict[int, Reconstruction | Exception] = {}

        def work(client: _Client) -> None:
            try:
                results[client.node_id] = attack(_ClientOracle(self, client, self.layout.n_params))
            except Exception as exc:  # reported per client, the others go on
                results[client.node_id] = exc
            finally:
                with self.changed:
                    client.done = True
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
        messages, asked = self._messages(clients, probe)
        replies = self.grid.send_and_receive(messages, timeout=self.timeout)
        self._record(replies, asked)

    def _messages(self, clients: Iterable[_Client], probe: bool) -> tuple[list, dict]:
        """This round's evaluate messages, and (node, group id) -> (client, query)."""
        common, app, compat = _flwr()
        messages, asked = [], {}
        for client in clients:
            if probe:
                client.queue.appendleft(_Query(np.zeros(self.layout.n_params)))
            count = 1 if probe else min(self.queries_per_round, len(client.queue))
            for k in range(count):
                query = client.queue[k]
                ins = common.EvaluateIns(common.ndarrays_to_parameters(self.arrays(query.row)), {})
                group = f"{self.rounds}.{k}"
                content = compat.evaluateins_to_recorddict(ins, keep_input=True)
                messages.append(
                    app.Message(
                        content,
                        client.node_id,
                        app.MessageType.EVALUATE,
                        ttl=self.timeout,
                        group_id=group,
                    )
                )
                asked[client.node_id, group] = client, query
        return messages, asked

    def _record(self, replies: Iterable, asked: dict) -> None:
        """Answer the queries replied to; count a missed round for a silent client."""
        _, _, compat = _flwr()
        with self.changed:
            answered = set()
            for reply in replies:
                key = (reply.metadata.src_node_id, reply.metadata.group_id)
                if key not in asked or reply.has_error():
                    continue
                client, query = asked[key]
                res = compat.recorddict_to_evaluateres(reply.content)
                client.num_examples = int(res.num_examples)
                query.answer = float(res.loss)
                client.queue.remove(query)
                answered.add(client.node_id)
            for client in {client.node_id: client for client, _ in asked.values()}.values():
                client.missed = 0 if client.node_id in answered else client.missed + 1
            self.changed.notify_all()


def _connected(grid: Any, count: int, timeout: float | None) -> list[int]:
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
    reduction: str | None = "mean",
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
    nodes = list(node_ids) if node_ids is not None else _connected(grid, min_clients, timeout)
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
    return rounds.run(attack), rounds.rounds

"""A user's Flower App, run unchanged against lossrecon's malicious ServerApp.

:class:`FlowerApp` reads the app's ``pyproject.toml`` the way Flower does
(``flwr.common.config``: the ``clientapp`` component, the run config defaults).
:meth:`FlowerApp.simulate` runs the app's ClientApp — loaded by Flower's own loader —
in Flower's simulation engine, with ``K`` SuperNodes, against a ServerApp whose main
function the audit provides. :class:`InProcessClient` calls the same ClientApp in this
process, one message at a time, as a SuperNode would: the audit measures defenses
(a client mod such as ``LocalDpMod`` among them) on it without a round trip through
the engine.

The engine is driven through ``flwr.simulation.run_simulation._run_simulation``, the
function ``flwr run`` uses for a local simulation: it is private, so the ``flower``
extra pins flwr to 1.41.0.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from lossrecon.errors import ConfigurationError, OracleError
from lossrecon.optional import require
from lossrecon.oracle.flower import Channel, error_reason
from lossrecon.oracle.protocol import DeclaredOracle, LossConvention

__all__ = ["FlowerApp", "InProcessClient"]

ServerMain = Callable[[Any, Any], None]
Mod = Callable[[Any, Any, Callable[[Any, Any], Any]], Any]


@dataclass(frozen=True)
class FlowerApp:
    """A Flower App directory: its ``clientapp`` reference and its run config."""

    directory: Path
    clientapp: str
    run_config: dict[str, Any]

    @classmethod
    def load(cls, directory: str | Path) -> FlowerApp:
        """Read ``directory/pyproject.toml`` as Flower does; a clear error if it is not
        a Flower App."""
        config_mod = require("flwr.common.config", "flower")
        path = Path(directory).resolve()
        if not (path / "pyproject.toml").is_file():
            raise ConfigurationError(f"{path} is not a Flower App: it has no pyproject.toml")
        try:
            project = config_mod.get_project_config(path)
        except (ValueError, KeyError) as exc:
            first = str(exc).strip().splitlines()
            raise ConfigurationError(
                f"{path / 'pyproject.toml'} is not a Flower App's: {' '.join(first)}"
            ) from None
        app = project["tool"]["flwr"]["app"]
        reference = app.get("components", {}).get("clientapp")
        if not reference:
            raise ConfigurationError(f"{path / 'pyproject.toml'} names no clientapp component")
        run_config = config_mod.flatten_dict(app.get("config", {}))
        return cls(path, str(reference), dict(run_config))

    def simulate(self, server_main: ServerMain, clients: int, log: Path | None = None) -> None:
        """Run the app's ClientApp on ``clients`` SuperNodes in Flower's simulation
        engine against a ServerApp running ``server_main(grid, context)``; the
        server's exception, if any, is raised here. With ``log``, what Flower and Ray
        print (their logs, the clients' tracebacks) goes to that file, not the console."""
        with output_to(log):
            self._simulate(server_main, clients)

    def _simulate(self, server_main: ServerMain, clients: int) -> None:
        serverapp = require("flwr.serverapp", "flower")
        simulation = require("flwr.simulation.run_simulation", "flower")
        server = serverapp.ServerApp()
        server.main()(server_main)
        # Ray's workers import the app's modules: give them the app's directory.
        paths = [str(self.directory), *os.environ.get("PYTHONPATH", "").split(os.pathsep)]
        previous = os.environ.get("PYTHONPATH")
        os.environ["PYTHONPATH"] = os.pathsep.join(p for p in paths if p)
        try:
            simulation._run_simulation(
                num_supernodes=clients,
                exit_event=simulation.EventType.PYTHON_API_RUN_SIMULATION_LEAVE,
                client_app_attr=self.clientapp,
                server_app=server,
                app_dir=str(self.directory),
                is_app=True,
                backend_config={"client_resources": {"num_cpus": 1}},
            )
        finally:
            if previous is None:
                os.environ.pop("PYTHONPATH", None)
            else:
                os.environ["PYTHONPATH"] = previous


@contextmanager
def output_to(path: Path | None) -> Iterator[None]:
    """Inside the block, everything this process and its children write to their
    standard output and error (file descriptors 1 and 2: Flower's logger, Ray's workers'
    logs it forwards) is appended to ``path``; nothing changes without a path."""
    if path is None:
        yield
        return
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    try:
        with Path(path).open("ab") as log:
            os.dup2(log.fileno(), 1)
            os.dup2(log.fileno(), 2)
            try:
                yield
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os.dup2(saved[0], 1)
                os.dup2(saved[1], 2)
    finally:
        os.close(saved[0])
        os.close(saved[1])


class InProcessClient(DeclaredOracle):
    """One client of ``app`` (its ``partition-id``) read through ``channel``, in this
    process: each weight vector becomes one message to the app's ClientApp, passed
    through ``mod`` first when one is given (as a ClientApp's mods are), and the reply's
    loss is the answer. Declares ``convention`` and the client's M (``num-examples``,
    read from one message at w = 0 when the client is set up)."""

    def __init__(
        self,
        app: FlowerApp,
        partition: int,
        partitions: int,
        channel: Channel,
        arrays: Callable[[np.ndarray], list[np.ndarray]],
        n_params: int,
        convention: LossConvention,
        mod: Mod | None = None,
    ) -> None:
        flwr_app = require("flwr.app", "flower")
        object_ref = require("flwr.supercore.object_ref", "flower")
        identity = require("flwr.supercore.task_identity", "flower").TaskIdentity
        for name, value in (("_run_id", 1), ("_node_id", 0), ("_task_id", 1)):
            if getattr(identity, name, None) is None:
                setattr(identity, name, value)
        self.client_app = object_ref.load_app(app.clientapp, ConfigurationError, app.directory)
        self.context = flwr_app.Context(
            run_id=1,
            node_id=partition + 1,
            node_config={"partition-id": partition, "num-partitions": partitions},
            state=flwr_app.RecordDict(),
            run_config=dict(app.run_config),
        )
        self.channel, self.arrays, self.n_params, self.mod = channel, arrays, n_params, mod
        self._declared = convention
        self.num_examples: int | None = None
        self._message = flwr_app.Message
        self(np.zeros((1, n_params)))

    @property
    def convention(self) -> LossConvention:
        return self._declared.overridden(n_samples=self.num_examples)

    def __call__(self, W: np.ndarray) -> np.ndarray:
        answers = []
        for row in np.atleast_2d(np.asarray(W, dtype=np.float64)):
            message = self._message(
                self.channel.content(self.arrays(row)),
                dst_node_id=self.context.node_id,
                message_type=self.channel.message_type,
            )
            if self.mod is None:
                reply = self.client_app(message, self.context)
            else:
                reply = self.mod(message, self.context, self.client_app)
            if reply.has_error():
                reason = error_reason(str(reply.error.reason))
                raise OracleError(f"the client replied with an error: {reason}")
            loss, self.num_examples = self.channel.answer(reply.content)
            answers.append(loss)
        return np.array(answers)

"""What `lossrecon.guard` costs an honest federation, and what it leaves the attack.

The template app (examples/flower_template: Flower's PyTorch template layout, 2 clients
with 100 training and 25 held-out digits each) is trained with FedAvg for 10 rounds
twice — without the guard and with ``loss_guard(max_answers=50, bits=16)`` on every
client — calling its ClientApp in process as a SuperNode would, every message built as
Flower builds it and aggregated with Flower's own FedAvg arithmetic
(``aggregate_arrayrecords``, ``aggregate_metricrecords``, weighted by ``num-examples``).
The training randomness is seeded the same in both runs, so any difference is the
guard's: the final parameters (compared bit for bit), the accuracy and the aggregated
eval loss after every round, and the answers the honest rounds used of the budget.

The same with the weight check on (``check_weights=Net()``): its false refusals over
the honest rounds. Then the chosen-weights attack reads client 0's held-out split
through the same ClientApp — without the guard, with it, and with its weight check —
(recall at relative error 1e-3, the queries answered, and why it stopped). Writes
benchmarks/results/guard.{json,md}.

    python benchmarks/guard.py [--rounds 10]
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch
from benchlib import save, table
from flwr.app import ArrayRecord, ConfigRecord, Context, Message, Metadata, RecordDict
from flwr.serverapp.strategy.strategy_utils import aggregate_arrayrecords, aggregate_metricrecords

import lossrecon as lr
from lossrecon.audit.flower_app import FlowerApp, InProcessClient
from lossrecon.audit.model import ModelSpec
from lossrecon.errors import OracleError
from lossrecon.guard import (
    DEFAULT_ANSWERS,
    DEFAULT_BITS,
    DEFAULT_RANGE,
    WeightCheck,
    guard_account,
    loss_guard,
)
from lossrecon.oracle import OracleWrapper
from lossrecon.oracle.flower import MessageChannel
from lossrecon.oracle.protocol import LossConvention

TEMPLATE = Path(__file__).parent.parent / "examples" / "flower_template"
sys.path.insert(0, str(TEMPLATE))

from template_app.client_app import app as client_app  # noqa: E402
from template_app.task import Net, truth  # noqa: E402

CLIENTS = 2


def message(content: RecordDict, node: int, kind: str, round_: int) -> Message:
    metadata = Metadata(
        run_id=1,
        message_id=f"{kind}-{round_}-{node}",
        src_node_id=0,
        dst_node_id=node,
        reply_to_message_id="",
        group_id=str(round_),
        created_at=time.time(),
        ttl=3600.0,
        message_type=kind,
    )
    return Message(content, metadata=metadata)


def guard(check: bool) -> Any:
    """The guard measured: Q = 50, b = 16, with the weight check against a freshly
    initialized model when ``check``."""
    model = Net() if check else None
    return loss_guard(max_answers=DEFAULT_ANSWERS, bits=DEFAULT_BITS, check_weights=model)


def federate(rounds: int, run_config: dict[str, Any], mod: Any) -> dict[str, Any]:
    """FedAvg over the template's clients for ``rounds`` rounds, through ``mod`` when
    given: the final arrays, the aggregated eval loss and accuracy after each round, and
    each node's guard account."""
    contexts = [
        Context(
            run_id=1,
            node_id=i + 1,
            node_config={"partition-id": i, "num-partitions": CLIENTS},
            state=RecordDict(),
            run_config=dict(run_config),
        )
        for i in range(CLIENTS)
    ]

    def ask(msg: Message, context: Context) -> Message:
        reply = client_app(msg, context) if mod is None else mod(msg, context, client_app)
        if reply.has_error():
            raise RuntimeError(reply.error.reason)
        return reply

    torch.manual_seed(0)
    arrays = ArrayRecord(Net().state_dict())
    history = []
    for r in range(1, rounds + 1):
        config = ConfigRecord({"lr": float(run_config["lr"]), "server-round": r})
        trained = []
        for i, context in enumerate(contexts):
            torch.manual_seed(1000 * r + i)
            content = RecordDict({"arrays": arrays, "config": config})
            trained.append(ask(message(content, i + 1, "train", r), context).content)
        arrays = aggregate_arrayrecords(trained, "num-examples")
        evaluated = [
            ask(message(RecordDict({"arrays": arrays}), i + 1, "evaluate", r), context).content
            for i, context in enumerate(contexts)
        ]
        metrics = aggregate_metricrecords(evaluated, "num-examples")
        history.append(
            {"round": r, "eval_loss": metrics["eval_loss"], "eval_acc": metrics["eval_acc"]}
        )
    accounts = [guard_account(context) for context in contexts]
    return {
        "arrays": np.concatenate([a.numpy().ravel() for a in arrays.values()]),
        "history": history,
        "answers": [a.answered for a in accounts if a is not None],
        "bits_spent": [a.bits_spent for a in accounts if a is not None],
        "flagged": [a.flagged for a in accounts if a is not None],
    }


class Watched(OracleWrapper):
    """Passes queries on, and counts those the weight check would refuse (judged
    alone, with no earlier round accepted)."""

    def __init__(self, oracle: object, spec: ModelSpec) -> None:
        super().__init__(oracle)
        self.spec, self.check = spec, WeightCheck(_initial())
        self.asked, self.flagged = 0, 0

    def __call__(self, W: np.ndarray) -> np.ndarray:
        for row in np.atleast_2d(W):
            state = dict(zip(self.spec.keys, self.spec.layout.arrays(row), strict=True))
            self.flagged += bool(self.check.findings(state, {}))
        self.asked += len(np.atleast_2d(W))
        return super().__call__(W)


def _initial() -> dict[str, np.ndarray]:
    return {k: v.numpy() for k, v in Net().state_dict().items()}


def attack(run_config: dict[str, Any], setting: str, mod: Any) -> dict[str, Any]:
    """The chosen-weights attack on client 0's held-out split, in process, through
    ``mod`` when given."""
    app = FlowerApp.load(TEMPLATE)
    app = FlowerApp(app.directory, app.clientapp, dict(run_config))
    spec = ModelSpec.of(Net())
    channel = MessageChannel("evaluate", spec.keys, dtype=spec.dtype)
    start = time.perf_counter()
    try:
        oracle = InProcessClient(
            app,
            0,
            CLIENTS,
            channel,
            spec.layout.arrays,
            spec.layout.n_params,
            LossConvention(dtype=spec.dtype),
            mod=mod,
        )
    except OracleError as exc:  # refused at the first query, w = 0
        return {
            "setting": setting,
            "recall_1e-3": 0.0,
            "recovered": 0,
            "queries": 0,
            "stopped": str(exc),
            "seconds": time.perf_counter() - start,
        }
    net = lr.ReLUNetwork(spec.widths, activation=spec.activation, bias=spec.bias)
    watched = Watched(oracle, spec)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rec = lr.attacks.chosen_weights(watched, net, snap=True)
    inputs, targets = truth(0, run_config)["evaluate"]
    return {
        "would_fail_the_weight_check": f"{watched.flagged} of {watched.asked}",
        "setting": setting,
        "recall_1e-3": lr.evaluate(rec, inputs, targets, tau=1e-3)["recall"],
        "recovered": rec.n_samples,
        "queries": rec.queries,
        "stopped": rec.stats.stop_note(),
        "seconds": time.perf_counter() - start,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10)
    args = parser.parse_args()
    run_config = dict(FlowerApp.load(TEMPLATE).run_config)
    plain = federate(args.rounds, run_config, None)
    guarded = federate(args.rounds, run_config, guard(check=False))
    checked = federate(args.rounds, run_config, guard(check=True))
    resolution = (DEFAULT_RANGE[1] - DEFAULT_RANGE[0]) / (2**DEFAULT_BITS - 1)
    loss_gap = max(
        abs(a["eval_loss"] - b["eval_loss"])
        for a, b in zip(plain["history"], guarded["history"], strict=True)
    )
    acc_gap = max(
        abs(a["eval_acc"] - b["eval_acc"])
        for a, b in zip(plain["history"], guarded["history"], strict=True)
    )
    honest = {
        "rounds": args.rounds,
        "max_answers": DEFAULT_ANSWERS,
        "bits": DEFAULT_BITS,
        "parameters_identical": bool(np.array_equal(plain["arrays"], guarded["arrays"])),
        "final_accuracy": [plain["history"][-1]["eval_acc"], guarded["history"][-1]["eval_acc"]],
        "max_eval_loss_change": loss_gap,
        "loss_resolution": resolution,
        "max_accuracy_change": acc_gap,
        "answers_used": guarded["answers"],
        "bits_spent": guarded["bits_spent"],
        "weight_check_false_refusals": checked["flagged"],
        "weight_check_parameters_identical": bool(
            np.array_equal(plain["arrays"], checked["arrays"])
        ),
        "history": {"plain": plain["history"], "guarded": guarded["history"]},
    }
    attacks = [
        attack(run_config, "no guard", None),
        attack(run_config, "guard", guard(check=False)),
        attack(run_config, "guard with the weight check", guard(check=True)),
    ]
    cases = [{"honest": honest}, *({"attack": a} for a in attacks)]
    columns = [
        ("setting", lambda c: c["attack"]["setting"]),
        ("recall @1e-3", lambda c: f"{c['attack']['recall_1e-3']:.0%}"),
        ("samples read", lambda c: c["attack"]["recovered"]),
        ("queries answered", lambda c: c["attack"]["queries"]),
        (
            "queries the weight check would refuse",
            lambda c: c["attack"].get("would_fail_the_weight_check", ""),
        ),
        ("stopped", lambda c: c["attack"]["stopped"] or ""),
    ]
    summary = (
        f"Honest FedAvg, {args.rounds} rounds, 2 clients: parameters identical with and "
        f"without the guard: {honest['parameters_identical']}; final accuracy "
        f"{honest['final_accuracy'][0]:.3f} / {honest['final_accuracy'][1]:.3f}; aggregated "
        f"eval loss within {loss_gap:.2e} (grid spacing {resolution:.2e}); answers used "
        f"{honest['answers_used']} of {DEFAULT_ANSWERS}; with the weight check, refusals "
        f"{honest['weight_check_false_refusals']} and parameters identical: "
        f"{honest['weight_check_parameters_identical']}.\n\n"
    )
    save("guard", cases, summary + table(columns, cases[1:]))


if __name__ == "__main__":
    main()

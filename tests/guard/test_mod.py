"""The guard as a Flower mod, on messages built as Flower builds them (no simulation)."""

import logging
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

flwr_app = pytest.importorskip("flwr.app")
from flwr.app import ArrayRecord, ConfigRecord, Context, Message, Metadata, MetricRecord, RecordDict  # noqa: E402
from flwr.common import Code, EvaluateRes, Status  # noqa: E402
from flwr.compat.common.recorddict_compat import evaluateres_to_recorddict  # noqa: E402

from lossrecon.errors import ConfigurationError  # noqa: E402
from lossrecon.guard import REFUSAL_CODE, guard_account, loss_guard  # noqa: E402

App = Callable[[Message, Context], Message]


def instruction(weights: np.ndarray, message_type: str = "evaluate", run_id: int = 7) -> Message:
    metadata = Metadata(
        run_id=run_id,
        message_id="m",
        src_node_id=0,
        dst_node_id=3,
        reply_to_message_id="",
        group_id="",
        created_at=time.time(),
        ttl=3600.0,
        message_type=message_type,
    )
    content = RecordDict({"arrays": ArrayRecord([weights]), "config": ConfigRecord({"lr": 0.0})})
    return Message(content, metadata=metadata)


def node(run_id: int = 7) -> Context:
    return Context(run_id=run_id, node_id=3, node_config={}, state=RecordDict(), run_config={})


def evaluate_app(losses: list[float]) -> App:
    """A Message API evaluate handler reporting the next loss of ``losses`` each call."""

    def app(msg: Message, context: Context) -> Message:
        metrics = {"eval_loss": losses.pop(0), "eval_acc": 0.5, "num-examples": 25}
        return Message(RecordDict({"metrics": MetricRecord(metrics)}), reply_to=msg)

    return app


def metrics(reply: Message) -> dict:
    return dict(reply.content.metric_records["metrics"])


def test_every_float_metric_is_reported_on_the_grid_and_integers_pass_untouched() -> None:
    guard = loss_guard(max_answers=5, bits=4, ranges={"eval_acc": (0.0, 1.0)})
    reply = guard(instruction(np.ones(3)), node(), evaluate_app([1.234567]))
    got = metrics(reply)
    assert got["eval_loss"] == pytest.approx(10.0 / 15 * round(1.234567 / (10.0 / 15)))
    assert got["eval_acc"] == pytest.approx(round(0.5 * 15) / 15)
    assert got["num-examples"] == 25


def test_a_legacy_evaluate_reply_is_guarded_through_its_records() -> None:
    def app(msg: Message, context: Context) -> Message:
        res = EvaluateRes(
            Status(Code.OK, ""), loss=0.123456789, num_examples=25, metrics={"acc": 0.9}
        )
        return Message(evaluateres_to_recorddict(res), reply_to=msg)

    reply = loss_guard(max_answers=5, bits=8, value_range=(0.0, 1.0))(
        instruction(np.ones(3)), node(), app
    )
    assert reply.content.metric_records["evaluateres.loss"]["loss"] == pytest.approx(
        round(0.123456789 * 255) / 255
    )
    assert reply.content.config_records["evaluateres.metrics"]["acc"] == pytest.approx(
        round(0.9 * 255) / 255
    )
    assert reply.content.metric_records["evaluateres.num_examples"]["num_examples"] == 25


def test_the_same_weights_again_get_the_stored_answer_at_no_cost() -> None:
    guard, context = loss_guard(max_answers=2, bits=16), node()
    app = evaluate_app([1.0, 2.0, 3.0])
    first = metrics(guard(instruction(np.ones(3)), context, app))
    again = metrics(guard(instruction(np.ones(3)), context, app))
    assert again == first
    account = guard_account(context)
    assert account is not None and account.answered == 1
    assert metrics(guard(instruction(np.zeros(3)), context, app))["eval_loss"] == pytest.approx(
        3.0, abs=1e-3
    )


def test_past_the_budget_a_new_weight_vector_gets_an_error_naming_the_guard() -> None:
    guard, context = loss_guard(max_answers=3, bits=16), node()
    app = evaluate_app([0.5] * 10)
    for i in range(3):
        assert not guard(instruction(np.full(3, float(i))), context, app).has_error()
    refused = guard(instruction(np.full(3, 9.0)), context, app)
    assert refused.has_error()
    assert refused.error.code == REFUSAL_CODE
    assert "lossrecon guard" in refused.error.reason and "budget of 3" in refused.error.reason
    assert not guard(instruction(np.full(3, 1.0)), context, app).has_error()
    account = guard_account(context)
    assert account is not None
    assert (account.answered, account.refused) == (3, 1)
    assert account.bits_spent == 3 * 16 * 2
    assert account.bound_bits == 3 * 16 * 2


def test_train_replies_keep_their_parameters_and_only_their_metrics_are_snapped() -> None:
    trained = np.linspace(-1.0, 1.0, 7)

    def app(msg: Message, context: Context) -> Message:
        content = RecordDict(
            {
                "arrays": ArrayRecord([trained]),
                "metrics": MetricRecord({"train_loss": 0.3141592, "num-examples": 9}),
            }
        )
        return Message(content, reply_to=msg)

    reply = loss_guard(max_answers=2, bits=10)(instruction(np.ones(3), "train"), node(), app)
    returned = next(iter(reply.content.array_records["arrays"].values())).numpy()
    assert np.array_equal(returned, trained)
    assert metrics(reply)["train_loss"] != 0.3141592


def test_the_account_survives_a_restarted_client_through_its_state_directory(
    tmp_path: Path,
) -> None:
    app = evaluate_app([0.5] * 10)
    loss_guard(max_answers=2, bits=16, state_path=tmp_path)(instruction(np.ones(3)), node(), app)
    loss_guard(max_answers=2, bits=16, state_path=tmp_path)(instruction(np.zeros(3)), node(), app)
    restarted = loss_guard(max_answers=2, bits=16, state_path=tmp_path)
    assert restarted(instruction(np.full(3, 2.0)), node(), app).has_error()
    assert list(tmp_path.glob("*.json")) == [tmp_path / "guard-run7-node3.json"]


def test_scope_node_carries_the_budget_across_runs(tmp_path: Path) -> None:
    app = evaluate_app([0.5] * 10)
    guard = loss_guard(max_answers=1, bits=16, state_path=tmp_path, scope="node")
    guard(instruction(np.ones(3), run_id=1), node(run_id=1), app)
    assert guard(instruction(np.zeros(3), run_id=2), node(run_id=2), app).has_error()
    per_run = loss_guard(max_answers=1, bits=16, state_path=tmp_path / "runs")
    per_run(instruction(np.ones(3), run_id=1), node(run_id=1), app)
    assert not per_run(instruction(np.zeros(3), run_id=2), node(run_id=2), app).has_error()


def test_bad_metrics_never_crash_the_client(caplog: pytest.LogCaptureFixture) -> None:
    def app(msg: Message, context: Context) -> Message:
        content = RecordDict(
            {
                "metrics": MetricRecord({"eval_loss": 1e9, "curve": [0.25, float("nan")]}),
                "notes": ConfigRecord({"device": "cpu"}),
            }
        )
        return Message(content, reply_to=msg)

    context = node()
    with caplog.at_level(logging.INFO, logger="flwr"):
        reply = loss_guard(max_answers=2, bits=8, value_range=(0.0, 4.0))(
            instruction(np.ones(3)), context, app
        )
    assert metrics(reply)["eval_loss"] == 4.0
    assert metrics(reply)["curve"] == [pytest.approx(0.25, abs=2 / 255), 4.0]
    assert reply.content.config_records["notes"]["device"] == "cpu"
    assert "notes/device is not a float" in caplog.text
    account = guard_account(context)
    assert account is not None and account.clipped == 2


def test_whatever_the_data_a_run_of_answers_takes_few_values() -> None:
    """The guarantee, checked by brute force: with b bits and k = 1 metric, Q answers to a
    fixed transcript of weights take at most 2^b values each, whatever the losses."""
    rng = np.random.default_rng(0)
    seen = set()
    for _ in range(200):
        guard, context = loss_guard(max_answers=2, bits=3), node()
        app = evaluate_app(list(rng.uniform(0.0, 10.0, size=2)))
        transcript = tuple(
            metrics(guard(instruction(np.full(3, float(i))), context, app))["eval_loss"]
            for i in range(2)
        )
        seen.add(transcript)
    assert 50 < len(seen) <= 2 ** (2 * 3)


def test_an_impossible_setting_is_refused_when_the_mod_is_built() -> None:
    with pytest.raises(ConfigurationError, match="max_answers"):
        loss_guard(max_answers=0, bits=16)
    with pytest.raises(ConfigurationError, match="bits"):
        loss_guard(max_answers=5, bits=64)
    with pytest.raises(ConfigurationError, match="scope"):
        loss_guard(max_answers=5, bits=16, scope="forever")  # type: ignore[arg-type]


def test_the_weight_check_refuses_before_the_app_runs_and_names_what_it_saw() -> None:
    initial = {"fc.weight": np.full((2, 3), 0.1), "fc.bias": np.full(2, 0.1)}
    guard, context = loss_guard(max_answers=5, bits=16, check_weights=initial), node()
    calls: list[int] = []

    def app(msg: Message, context: Context) -> Message:
        calls.append(1)
        return evaluate_app([0.5])(msg, context)

    def sent(weight: np.ndarray, bias: np.ndarray) -> Message:
        metadata = instruction(np.ones(1)).metadata
        arrays = ArrayRecord({"fc.weight": flwr_app.Array(weight), "fc.bias": flwr_app.Array(bias)})
        return Message(RecordDict({"arrays": arrays}), metadata=metadata)

    honest = sent(np.array([[0.1, -0.2, 0.05], [0.3, 0.1, -0.1]]), np.array([0.1, -0.1]))
    assert not guard(honest, context, app).has_error()
    gate = sent(np.array([[0.1, -0.2, 0.05], [0.0, 0.0, 0.0]]), np.array([40.0, 0.0]))
    refused = guard(gate, context, app)
    assert refused.has_error() and len(calls) == 1
    assert "weight check" in refused.error.reason and "rows of exact zeros" in refused.error.reason
    account = guard_account(context)
    assert account is not None and (account.answered, account.flagged) == (1, 1)

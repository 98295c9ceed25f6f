import json

import numpy as np
import pytest

import lossrecon as lr
from lossrecon.audit import audit_flower, audit_torch
from lossrecon.audit.report import write_report
from lossrecon.errors import ConfigurationError

from .conftest import digits_mlp


def test_a_model_in_hand_is_audited_and_a_bad_loss_is_refused():
    net = digits_mlp(3)
    digits = lr.load_dataset("digits")
    x, y = digits.inputs[:12] / 16.0, digits.targets[:12]
    result = audit_torch(net, x, y, loss="mse", defenses=False)
    (split,) = result.splits
    assert split.score["recall"] == 1.0 and split.score["exact"] == 1.0
    assert result.target["dtype"] == "float32" and result.image_shape is None
    with pytest.raises(ConfigurationError, match="--loss"):
        audit_torch(net, x, y, loss="hinge")


@pytest.mark.parametrize(
    ("inputs", "targets", "loss", "said"),
    [
        ("narrow", "classes", "cross_entropy", "the inputs have 32 features a sample"),
        ("digits", "out of range", "cross_entropy", "out of the model's 10 classes"),
        ("digits", "classes", "mse", r"shape \(12,\) \(class indices\? use --loss"),
        ("digits", "one-hot", "cross_entropy", "class indices, shape \\(M,\\)"),
    ],
)
def test_data_the_model_cannot_take_is_refused_in_one_line_before_any_query(
    monkeypatch, inputs, targets, loss, said
):
    from lossrecon.oracle import torch_oracle

    def never(*args, **kwargs):
        raise AssertionError("the oracle was built: a query could be asked")

    monkeypatch.setattr(torch_oracle.TorchLossOracle, "__init__", never)
    digits = lr.load_dataset("digits")
    x = digits.inputs[:12] / 16.0
    x = x[:, :32] if inputs == "narrow" else x
    y = {
        "classes": digits.targets[:12].argmax(1),
        "out of range": digits.targets[:12].argmax(1) + 5,
        "one-hot": digits.targets[:12],
    }[targets]
    with pytest.raises(ConfigurationError, match=said):
        audit_torch(digits_mlp(3), x, y, loss=loss, defenses=False)


@pytest.mark.timeout(900)
def test_a_template_app_is_audited_end_to_end_in_flowers_simulation_engine(small_app, tmp_path):
    """Two clients, both splits, through the simulation engine; defenses in process."""
    app_dir, package = small_app
    events = []
    result = audit_flower(
        app_dir,
        f"{package}.task:Net",
        clients=2,
        queries_per_round=16,
        truth=f"{package}.task:truth",
        progress=lambda what, fields: events.append((what, fields)),
    )
    rounds = [fields for what, fields in events if what == "round"]
    assert set(rounds[-1]["clients"]) == {"1/train", "1/evaluate", "2/train", "2/evaluate"}
    middle = rounds[len(rounds) // 2]["clients"].values()
    assert any(queries > 0 or waiting > 0 for _, queries, _, waiting in middle)
    assert sum(what == "defense" for what, _ in events) == len(result.defenses)
    assert sorted(s.split for s in result.splits) == ["evaluate", "evaluate", "train", "train"]
    for split in result.splits:
        assert split.error is None, split.error
        assert split.score["recall"] == 1.0 and split.score["exact"] == 1.0
        assert split.score["classes"] == 1.0
    assert {s.matched_partition for s in result.splits} == {0, 1}
    assert result.rounds and result.rounds < max(s.queries for s in result.splits)
    families = {row.family for row in result.defenses}
    assert families == {"rounding", "noise", "LocalDpMod", "float16", "guard"}
    unguarded = [row for row in result.defenses if row.family != "guard"]
    assert all(row.error is None for row in unguarded), [r.error for r in unguarded]
    guard = next(row for row in result.defenses if row.family == "guard")
    assert guard.recall == 0.0 and "lossrecon guard" in (guard.error or "")
    assert guard.loss_change is not None and 0 < guard.loss_change < 1e-3
    dp = next(row for row in result.defenses if row.family == "LocalDpMod")
    assert dp.recall == 1.0 and dp.loss_change == 0.0  # it passes evaluate messages through
    page = write_report(result, tmp_path / "report")
    data = json.loads((tmp_path / "report" / "report.json").read_text())
    assert data["verdict"].startswith("The reported losses leak the data")
    assert page.read_text().count("data:image/png;base64,") == 5
    saved = sorted(p.name for p in (tmp_path / "report").glob("client-*.npz"))
    assert len(saved) == 4 and np.all(
        [name.endswith(("train.npz", "evaluate.npz")) for name in saved]
    )


@pytest.mark.timeout(1200)
def test_a_client_that_crashes_mid_audit_keeps_what_was_recovered_and_a_rerun_resumes(
    small_app, tmp_path
):
    """One client's evaluate handler raises from its 150th message on: that split stops
    with what it had and says why; everything else is read. Run again on the journal,
    with the client mended, every split is complete and nothing answered is asked twice."""
    app_dir, package = small_app
    handler = app_dir / package / "client_app.py"
    counter, broken = tmp_path / "calls", tmp_path / "broken"
    broken.touch()
    handler.write_text(
        handler.read_text().replace(
            '    """Evaluate the model on local data."""\n',
            '    """Evaluate the model on local data."""\n'
            '    if context.node_config["partition-id"] == 1:\n'
            f"        with open({str(counter)!r}, 'a') as calls:\n"
            "            calls.write('.')\n"
            f"        if len(open({str(counter)!r}).read()) >= 150 and "
            f"__import__('os').path.exists({str(broken)!r}):\n"
            "            raise RuntimeError('disk full')\n",
        )
    )
    journal = tmp_path / "journal"
    kwargs = {"clients": 2, "queries_per_round": 16, "defenses": False, "journal": journal}
    first = audit_flower(app_dir, f"{package}.task:Net", **kwargs)
    stopped = [s for s in first.splits if s.reconstruction and s.reconstruction.stats.stopped]
    assert len(stopped) == 1 and stopped[0].split == "evaluate"
    assert any("disk full" in w for w in stopped[0].reconstruction.stats.warnings)
    assert sum(s.recovered == s.num_examples for s in first.splits) == 3
    page = write_report(first, tmp_path / "report")
    assert "disk full" in page.read_text()

    broken.unlink()
    again = audit_flower(app_dir, f"{package}.task:Net", **kwargs)
    assert all(s.recovered == s.num_examples and s.error is None for s in again.splits)
    assert all(s.replayed > 0 for s in again.splits)
    assert again.rounds < first.rounds
    done = {
        (s.split, s.num_examples, s.reconstruction.inputs.tobytes())
        for s in first.splits
        if not s.reconstruction.stats.stopped
    }
    assert done <= {
        (s.split, s.num_examples, s.reconstruction.inputs.tobytes()) for s in again.splits
    }

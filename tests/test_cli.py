import json

import numpy as np
from typer.testing import CliRunner

import lossrecon as lr
from lossrecon.cli import app

runner = CliRunner()


def test_help_lists_commands():
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    assert "demo" in result.output and "evaluate" in result.output


def test_evaluate_command(tmp_path, rng):
    x, y = rng.normal(size=(4, 3)), rng.normal(size=(4, 1))
    lr.Reconstruction(x[::-1], y[::-1], scale_known=True, queries=8).save(tmp_path / "rec.npz")
    np.savez(tmp_path / "truth.npz", inputs=x, targets=y)
    result = runner.invoke(
        app,
        [
            "evaluate",
            str(tmp_path / "rec.npz"),
            "--truth",
            str(tmp_path / "truth.npz"),
            "--json",
            str(tmp_path / "m.json"),
        ],
    )
    assert result.exit_code == 0, result.output
    assert json.loads((tmp_path / "m.json").read_text())["recall"] == 1.0


def test_virtual_prints_figure_2():
    result = runner.invoke(app, ["virtual", "--widths", "2,2,1", "--node", "1,3"])
    assert result.exit_code == 0, result.output
    assert "x1*ω1*ω5 + x1*ω2*ω6 + x2*ω3*ω5 + x2*ω4*ω6" in result.output
    assert "(2, 1, negative), (2, 2, negative)" in result.output


def test_virtual_factor_view_and_latex():
    result = runner.invoke(
        app, ["virtual", "--widths", "2,2,1,2,1", "--node", "1,5", "--factor", "--latex"]
    )
    assert result.exit_code == 0, result.output
    assert "ω_{10} ω_{8} + ω_{7} ω_{9}" in result.output
    assert "Theorem 2.8 prediction: agrees" in result.output
    assert "DISAGREES" not in result.output


def test_virtual_bad_widths_is_a_usage_error():
    result = runner.invoke(app, ["virtual", "--widths", "2,x,1", "--node", "1,3"])
    assert result.exit_code == 2
    assert "comma-separated integers" in result.output


def test_virtual_node_needs_two_numbers():
    result = runner.invoke(app, ["virtual", "--widths", "2,2,1", "--node", "1,2,3"])
    assert result.exit_code == 2 and "expected 2 comma-separated integers" in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_library_errors_become_messages():
    result = runner.invoke(app, ["virtual", "--widths", "2,2,1", "--node", "5,2"])
    assert result.exit_code == 1
    assert "no node (5, 2)" in result.output


ORACLE_FILE = """
import numpy as np
import lossrecon as lr

def oracle():
    rng = np.random.default_rng(5)
    x, y = rng.normal(size=(12, 5)), rng.normal(size=(12, 3))
    np.savez(__file__.replace(".py", "_truth.npz"), inputs=x, targets=y)
    return lr.NumpyLossOracle(lr.ReLUNetwork([5, 4, 3]), x, y)
"""


def test_attack_then_evaluate(tmp_path):
    source = tmp_path / "target.py"
    source.write_text(ORACLE_FILE)
    out = tmp_path / "rec.npz"
    result = runner.invoke(
        app,
        [
            "attack",
            "--oracle",
            f"{source}:oracle",
            "--widths",
            "5,4,3",
            "--out",
            str(out),
            "--quiet",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "Recovered 12 samples" in result.output
    result = runner.invoke(
        app,
        [
            "evaluate",
            str(out),
            "--truth",
            str(tmp_path / "target_truth.npz"),
            "--json",
            str(tmp_path / "m.json"),
        ],
    )
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "m.json").read_text())
    assert report["recall"] == 1.0 and report["input_rel_error_max"] < 1e-8


def test_attack_reports_a_bad_oracle_spec(tmp_path):
    result = runner.invoke(
        app, ["attack", "--oracle", "missing.py:f", "--widths", "5,4,3", "--out", "x.npz"]
    )
    assert result.exit_code == 1 and "does not exist" in result.output


def test_demo_recovers_digits_and_saves_a_picture(tmp_path):
    result = runner.invoke(app, ["demo", "--n-samples", "60", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "digits.png").stat().st_size > 1000
    rec = lr.Reconstruction.load(tmp_path / "reconstruction.npz")
    assert rec.n_samples == 60


BLIND_ORACLE_FILE = """
import numpy as np
import lossrecon as lr

def oracle():
    rng = np.random.default_rng(7)
    x, y = rng.normal(size=(10, 8)), rng.normal(size=(10, 1))
    np.savez(__file__.replace(".py", "_truth.npz"), inputs=x, targets=y)
    return lr.NumpyLossOracle(lr.ReLUNetwork([8, 6, 4, 1]), x, y)
"""


def test_blind_attack_finds_the_widths_and_the_inputs(tmp_path):
    source = tmp_path / "target.py"
    source.write_text(BLIND_ORACLE_FILE)
    out = tmp_path / "rec.npz"
    args = ["attack", "--oracle", f"{source}:oracle", "--blind", "--out", str(out), "--quiet"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "widths [8, 6, 4, 1]" in result.output and "up to scale" in result.output
    rec = lr.Reconstruction.load(out)
    truth = np.load(tmp_path / "target_truth.npz")
    assert lr.evaluate(rec, truth["inputs"], truth["targets"])["recall"] == 1.0
    result = runner.invoke(app, [*args, "--exact"])
    assert result.exit_code == 0 and "(exact)" in result.output


def test_attack_needs_exactly_one_of_widths_and_blind(tmp_path):
    source = tmp_path / "target.py"
    source.write_text(BLIND_ORACLE_FILE)
    base = ["attack", "--oracle", f"{source}:oracle", "--out", str(tmp_path / "r.npz")]
    for extra in ([], ["--blind", "--widths", "8,6,4,1"]):
        result = runner.invoke(app, [*base, *extra])
        assert result.exit_code != 0
        assert "exactly one of --widths" in result.output


def test_attack_resumes_from_its_journal(tmp_path):
    source = tmp_path / "target.py"
    source.write_text(ORACLE_FILE)
    args = ["attack", "--oracle", f"{source}:oracle", "--widths", "5,4,3", "--quiet"]
    journal = ["--journal", str(tmp_path / "run.journal")]
    first = runner.invoke(app, [*args, "--out", str(tmp_path / "a.npz"), *journal])
    assert first.exit_code == 0, first.output
    assert "0 queries answered from the journal" in " ".join(first.output.split())
    second = runner.invoke(app, [*args, "--out", str(tmp_path / "b.npz"), *journal])
    assert second.exit_code == 0, second.output
    assert ", 0 asked" in " ".join(second.output.split())
    a, b = lr.Reconstruction.load(tmp_path / "a.npz"), lr.Reconstruction.load(tmp_path / "b.npz")
    np.testing.assert_array_equal(a.inputs, b.inputs)


GATED_FILE = """
import numpy as np
import lossrecon as lr

def oracle():
    x = np.random.default_rng(6).integers(0, 17, size=(15, 6)).astype(float)
    y = np.eye(3)[np.arange(15) % 3]
    net = lr.ReLUNetwork([6, 8, 4, 3], bias=True)
    return lr.NumpyLossOracle(net, x, y, reduction="mean", dtype="float32")
"""


def test_attack_through_gates_with_snapping(tmp_path):
    source = tmp_path / "gated.py"
    source.write_text(GATED_FILE)
    out = tmp_path / "rec.npz"
    arguments = ["attack", "--oracle", f"{source}:oracle", "--widths", "6,8,4,3", "--bias"]
    arguments += ["--method", "gates", "--snap", "--out", str(out), "--quiet"]
    result = runner.invoke(app, arguments)
    assert result.exit_code == 0, result.output
    rec = lr.Reconstruction.load(out)
    assert rec.stats.method == "gates" and rec.stats.grid == 1.0
    truth = np.random.default_rng(6).integers(0, 17, size=(15, 6)).astype(float)
    assert sorted(map(tuple, rec.inputs)) == sorted(map(tuple, truth))


def test_attack_packs_quantized_coordinates_unless_told_not_to(tmp_path):
    source = tmp_path / "gated.py"
    source.write_text(GATED_FILE.replace("(15, 6)", "(40, 6)").replace("arange(15)", "arange(40)"))
    arguments = ["attack", "--oracle", f"{source}:oracle", "--widths", "6,8,4,3", "--bias"]
    arguments += ["--snap", "--quiet", "--out"]
    packed = {}
    for flag in ("--pack", "--no-pack"):
        out = tmp_path / f"{flag}.npz"
        result = runner.invoke(app, [*arguments, str(out), flag])
        assert result.exit_code == 0, result.output
        rec = lr.Reconstruction.load(out)
        assert rec.n_samples == 40
        packed[flag] = (float(np.mean(rec.stats.packed)), rec.queries)
    assert packed["--pack"][0] > 0.5 and packed["--no-pack"][0] == 0.0
    assert packed["--pack"][1] < packed["--no-pack"][1]


def test_audit_torch_writes_the_report(tmp_path):
    source = tmp_path / "model.py"
    source.write_text(
        "import torch\n"
        "def make():\n"
        "    torch.manual_seed(0)\n"
        "    return torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(64, 32),\n"
        "        torch.nn.ReLU(), torch.nn.Linear(32, 16), torch.nn.ReLU(),\n"
        "        torch.nn.Linear(16, 10))\n"
        "def tanh():\n"
        "    return torch.nn.Sequential(torch.nn.Linear(64, 10), torch.nn.Tanh())\n"
    )
    digits = lr.load_dataset("digits")
    images = (digits.inputs[:6] / 16.0).reshape(6, 1, 8, 8)
    np.savez(tmp_path / "data.npz", inputs=images, targets=digits.targets[:6].argmax(1))
    args = ["audit", "torch", "--data", str(tmp_path / "data.npz"), "--no-defenses"]
    out = tmp_path / "report"
    result = runner.invoke(app, [*args, "--model", f"{source}:make", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "recovered 6 of 6 training samples" in result.output
    report = json.loads((out / "report.json").read_text())
    assert report["splits"][0]["score"]["exact"] == 1.0 and (out / "report.html").is_file()
    refused = runner.invoke(app, [*args, "--model", f"{source}:tanh", "--out", str(out)])
    assert refused.exit_code == 1 and "layer Tanh at '1' is not supported" in refused.output


def test_audit_flower_on_a_directory_that_is_no_app_says_so_in_one_line(tmp_path):
    result = runner.invoke(app, ["audit", "flower", str(tmp_path), "--model", "m:Net"])
    assert result.exit_code == 1
    assert (
        result.output.strip()
        == f"error: {tmp_path.resolve()} is not a Flower App: it has no pyproject.toml"
    )


def test_an_audit_that_could_not_read_everything_says_what_in_one_line_and_exits_3(
    tmp_path, monkeypatch
):
    """A split the app answers in no way lossrecon reads, and a client lost mid-attack:
    each named on one line, in report.json too, and a non-zero exit."""
    import lossrecon.audit as audit
    from lossrecon.audit.results import AuditResult, SplitResult

    lost = lr.Reconstruction(np.zeros((0, 4)), np.zeros((0, 2)), True, [4, 3, 2], 50)
    lost.stats.stopped = "oracle"
    lost.stats.warnings.append("stopped early: client 7 (train) missed 20 rounds in a row")
    unread = "the evaluate split was not read: KeyError: 'eval_loss'"
    split = SplitResult("1", "train", lost, 3.0, rounds=20)

    def audited(*args, **kwargs):
        return AuditResult({"kind": "flower"}, [split], rounds=20, notes=[unread])

    monkeypatch.setattr(audit, "audit_flower", audited)
    app_dir, out = tmp_path / "app", tmp_path / "report"
    app_dir.mkdir()
    result = runner.invoke(
        app, ["audit", "flower", str(app_dir), "--model", "m:Net", "--out", str(out)]
    )
    assert result.exit_code == 3
    lines = [line for line in result.output.splitlines() if line.startswith("not read:")]
    assert lines == [
        f"not read: {unread}",
        "not read: client 1 train: stopped early: client 7 (train) missed 20 rounds in a row",
    ]
    report = json.loads((out / "report.json").read_text())
    assert len(report["problems"]) == 2

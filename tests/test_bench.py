import json

from typer.testing import CliRunner

import lossrecon as lr
from lossrecon.attacks import chosen_weights
from lossrecon.bench import _row, _TimeLimited, run_bench
from lossrecon.cli import app


def test_quick_bench_writes_the_report_the_json_and_every_figure(tmp_path):
    results = run_bench(tmp_path, quick=True)
    attacks = {row["attack"] for row in results["side_by_side"]}
    assert attacks == {"chosen", "blind", "baseline"}
    chosen = results["side_by_side"][0]
    assert chosen["attack"] == "chosen" and chosen["recall"] == 1.0
    defenses = {row["defense"] for row in results["defenses"]}
    assert defenses == {"none", "noise", "rounding", "softplus", "precision", "clipping"}
    assert {row["method"] for row in results["defenses"]} == {"hat", "gates"}
    assert len([r for r in results["defenses"] if r["defense"] == "clipping"]) == 2 * 4
    # No confident garbage: whatever is returned is the truth, to 1e-3 at least (float16
    # and noise of 1e-2 leave the gates short of 1e-6).
    assert all(row["precision@1e-3"] in (None, 1.0) for row in results["defenses"])
    hat = [r for r in results["defenses"] if r["method"] == "hat"]
    assert all(row["precision"] in (None, 1.0) for row in hat)
    assert "gates keeps recall" in (tmp_path / "report.md").read_text()
    assert json.loads((tmp_path / "bench.json").read_text())["quick"] is True
    report = (tmp_path / "report.md").read_text()
    for name in ("defenses.png", "queries.png", "loss_slice.png", "digits.png"):
        assert (tmp_path / name).stat().st_size > 1000
        assert f"![{name}]({name})" in report


def test_bench_command(tmp_path):
    result = CliRunner().invoke(app, ["bench", "--quick", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "report" in result.output and (tmp_path / "report.md").exists()


def test_a_defended_run_out_of_time_is_a_row_not_the_end_of_the_bench():
    data = lr.synthetic(10, 4, 2, random_state=0)
    widths = [4, 4, 2]
    oracle = lr.NumpyLossOracle(lr.ReLUNetwork(widths), data.inputs, data.targets)
    row = _row("chosen", data, widths, lambda: chosen_weights(_TimeLimited(oracle, 0.0), widths))
    assert row["stopped"] == "budget" and row["queries"] == 0

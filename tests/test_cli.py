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

"""The Flower App in examples/flower_digits is valid and runs in Flower's engines."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("flwr")

from flwr.cli.config_utils import load_and_validate

APP = Path(__file__).resolve().parent.parent / "examples" / "flower_digits"


def report(launcher: str, *args: str) -> dict:
    """Run one of the app's launchers and read the report it prints last."""
    command = [sys.executable, str(APP / launcher), *args]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    lines = out.splitlines()
    return json.loads("\n".join(lines[max(i for i, line in enumerate(lines) if line == "{") :]))


def test_the_digits_app_is_a_valid_flower_app_whose_components_load():
    config, warnings = load_and_validate(APP / "pyproject.toml", check_module=True)
    assert config["tool"]["flwr"]["app"]["components"]["serverapp"] == "digits_app.server_app:app"
    assert warnings == []


@pytest.mark.slow
def test_the_digits_app_in_the_simulation_engine():
    found = report("simulation.py", "--samples", "4", "--queries-per-round", "8")
    assert found["recall_per_client"] == [1.0]
    assert (found["method"], found["loss_read"], found["dtype_read"]) == (
        "gates",
        "cross_entropy",
        "float32",
    )
    # Four samples leave the gated reading's batches a few queries wide (the 2 samples
    # read one coordinate a batch before the grid is known, 2 queries wide): 8 a round
    # still cut the rounds by 2.5 at least.
    assert found["rounds"] < found["queries_per_client"] / 2.5


@pytest.mark.skipif(
    os.environ.get("LOSSRECON_DEPLOYMENT_TESTS") != "1",
    reason="starts a SuperLink and a SuperNode and takes about half an hour; "
    "set LOSSRECON_DEPLOYMENT_TESTS=1",
)
def test_the_digits_app_in_the_deployment_engine():
    found = report("deployment.py", "--samples", "1", "--queries-per-round", "32")
    assert found["recall_per_client"] == [1.0]

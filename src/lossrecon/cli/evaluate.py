"""``lossrecon evaluate``: score a saved reconstruction against the true training set."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import numpy as np
import typer
from rich.console import Console
from rich.table import Table

from lossrecon.cli.common import reports_errors
from lossrecon.evaluation import evaluate as evaluate_reconstruction
from lossrecon.reconstruction import Reconstruction


def metrics_table(report: dict[str, object], title: str = "Reconstruction metrics") -> Table:
    """A two-column rich table of a metrics dict."""
    table = Table(title=title)
    table.add_column("metric")
    table.add_column("value", justify="right")
    for key, value in report.items():
        text = f"{value:.3g}" if isinstance(value, float) else str(value)
        table.add_row(key, text)
    return table


@reports_errors
def evaluate(
    reconstruction: Annotated[Path, typer.Argument(help="a .npz written by an attack")],
    truth: Annotated[
        Path, typer.Option(help=".npz with arrays 'inputs' (M, n) and optionally 'targets'")
    ],
    tau: Annotated[float, typer.Option(help="match threshold on 1 - |cos|")] = 1e-6,
    json_out: Annotated[
        Path | None, typer.Option("--json", help="also write the metrics here")
    ] = None,
) -> None:
    """Match recovered samples to the truth and print recall, precision and errors."""
    rec = Reconstruction.load(reconstruction)
    with np.load(truth, allow_pickle=False) as data:
        if "inputs" not in data:
            raise typer.BadParameter(f"{truth} has no array named 'inputs'", param_hint="--truth")
        targets = data.get("targets", None)
        report = evaluate_reconstruction(rec, data["inputs"], targets, tau=tau)
    Console().print(metrics_table(report))
    if json_out is not None:
        json_out.write_text(json.dumps(report, indent=2))

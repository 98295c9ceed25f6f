"""``lossrecon demo``: the chosen-weights attack on scikit-learn digits, end to end."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import numpy as np
import typer
from rich.console import Console

from lossrecon.attacks import chosen_weights
from lossrecon.cli.common import reports_errors
from lossrecon.cli.evaluate import metrics_table
from lossrecon.cli.progress import attack_progress
from lossrecon.data import load_dataset
from lossrecon.evaluation import evaluate, match
from lossrecon.network import ReLUNetwork
from lossrecon.oracle import NumpyLossOracle
from lossrecon.plots import plot_image_pairs

DEMO_WIDTHS = [64, 32, 16, 10]


@reports_errors
def demo(
    n_samples: Annotated[
        int, typer.Option(help="digits drawn from scikit-learn's 1,797 (all: 1797)")
    ] = 300,
    out: Annotated[Path, typer.Option(help="folder for the PNG and the reconstruction")] = Path(
        "lossrecon-demo"
    ),
    seed: Annotated[int, typer.Option(help="random seed of the subset and the attack")] = 0,
) -> None:
    """Recover digits and their labels from loss values alone, and show them."""
    console = Console()
    data = load_dataset("digits", n_samples=n_samples, random_state=seed)
    net = ReLUNetwork(DEMO_WIDTHS)
    oracle = NumpyLossOracle(net, data.inputs, data.targets)
    console.print(
        f"[bold]Target[/bold]: {net} trained on {data.n_samples} private digits. The "
        f"attacker chooses weight vectors (N = {net.n_params}) and reads only the loss."
    )
    start = time.perf_counter()
    with attack_progress() as progress:
        rec = chosen_weights(oracle, DEMO_WIDTHS, random_state=seed, progress=progress)
    seconds = time.perf_counter() - start
    report = evaluate(rec, data.inputs, data.targets)
    console.print(metrics_table(report, f"What the loss leaked ({seconds:.1f} s)"))
    out.mkdir(parents=True, exist_ok=True)
    rec.save(out / "reconstruction.npz")
    found = match(rec.inputs, data.inputs, tau=1e-6)
    order = np.argsort(found.truth)[:12]
    picture = plot_image_pairs(
        data.inputs[found.truth[order]], rec.inputs[found.recovered[order]], out / "digits.png"
    )
    if rec.targets is None:
        raise AssertionError("the chosen-weights attack always recovers labels")
    labels = rec.targets[found.recovered[order]].argmax(axis=1)
    console.print(f"Recovered labels of the digits shown: {' '.join(map(str, labels))}")
    console.print(f"Saved {picture} and {out / 'reconstruction.npz'}")

"""``lossrecon demo``: the whole pipeline on built-in data."""

from __future__ import annotations

from typing import Annotated

import numpy as np
import typer
from rich.console import Console

from lossrecon.cli.common import reports_errors
from lossrecon.data import load_dataset
from lossrecon.network import ReLUNetwork
from lossrecon.oracle import CountingOracle, NumpyLossOracle


@reports_errors
def demo(
    n_samples: Annotated[int, typer.Option(help="digits drawn from scikit-learn's set")] = 200,
    seed: Annotated[int, typer.Option(help="random seed")] = 0,
) -> None:
    """Build a loss oracle on scikit-learn digits and show what an attacker sees."""
    console = Console()
    data = load_dataset("digits", n_samples=n_samples, random_state=seed)
    net = ReLUNetwork([data.n_features, 32, 16, data.n_outputs])
    oracle = CountingOracle(NumpyLossOracle(net, data.inputs, data.targets))
    losses = oracle(net.random_weights(4, random_state=seed))
    console.print(
        f"[bold]Target[/bold]: {net} trained on {data.n_samples} digits "
        f"({data.n_features} pixels, one-hot labels); the attacker sees only E(w), "
        f"N = {net.n_params} weights."
    )
    console.print(f"Loss at four random weight vectors: {np.array2string(losses, precision=4)}")
    console.print(
        "[yellow]No attack is built yet.[/yellow] When the chosen-weights attack lands, "
        "this demo will recover every digit and its label from loss values alone and "
        "save a PNG of originals beside reconstructions."
    )

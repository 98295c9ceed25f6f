"""``lossrecon attack``: run an attack against an oracle defined in a Python file."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from lossrecon.activations import activation_names
from lossrecon.attacks import blind as lr_blind
from lossrecon.attacks import chosen_weights
from lossrecon.cli.common import parse_ints, reports_errors
from lossrecon.cli.progress import attack_progress
from lossrecon.errors import ConfigurationError
from lossrecon.loading import load_object
from lossrecon.oracle.journal import JournalOracle


def load_factory(spec: str) -> object:
    """Call the factory a spec "FILE.py:factory" (or "module:factory") names and return
    the oracle."""
    return load_object(spec, what="--oracle")()


@reports_errors
def attack(
    oracle: Annotated[str, typer.Option(help="FILE.py:factory, a function returning the oracle")],
    out: Annotated[Path, typer.Option(help="where to save the reconstruction (.npz)")],
    widths: Annotated[
        str | None, typer.Option(help="the target's widths, e.g. 64,32,16,10 (chosen weights)")
    ] = None,
    blind: Annotated[
        bool, typer.Option(help="architecture unknown: recover it and the inputs up to scale")
    ] = False,
    exact: Annotated[
        bool, typer.Option(help="with --blind, also fit every sample's scale and label")
    ] = False,
    activation: Annotated[
        str, typer.Option(help=f"one of {', '.join(activation_names())}")
    ] = "relu",
    slope: Annotated[float, typer.Option(help="leaky ReLU slope")] = 0.01,
    pieces: Annotated[int, typer.Option(help="maxout pieces or LWTA block size")] = 2,
    bias: Annotated[bool, typer.Option(help="the target's layers have biases")] = False,
    budget: Annotated[int | None, typer.Option(help="most oracle queries allowed")] = None,
    reduction: Annotated[
        str | None, typer.Option(help="half_sum, sum or mean (default: the oracle's own)")
    ] = None,
    n_samples: Annotated[
        int | None, typer.Option(help="training-set size M, for the 'mean' reduction")
    ] = None,
    method: Annotated[
        str, typer.Option(help="auto, gates or hat (chosen weights; auto: what fits)")
    ] = "auto",
    snap: Annotated[
        bool, typer.Option(help="round the inputs to the grid they lie on, if any")
    ] = False,
    pack: Annotated[
        bool,
        typer.Option(help="gates: read several quantized coordinates an answer (--no-pack: one)"),
    ] = True,
    seed: Annotated[int, typer.Option(help="random seed")] = 0,
    journal: Annotated[
        Path | None,
        typer.Option(help="keep every answered query here; rerun with it to resume"),
    ] = None,
    quiet: Annotated[bool, typer.Option(help="no progress display")] = False,
) -> None:
    """Recover training samples: exact inputs and labels for a known architecture
    (--widths), or the architecture and the inputs up to scale (--blind)."""
    if blind == (widths is not None):
        raise ConfigurationError("give exactly one of --widths (architecture known) or --blind")
    if blind and (activation != "relu" or bias):
        raise ConfigurationError("--blind attacks bias-free ReLU networks only")
    target = load_factory(oracle)
    if journal is not None:
        target = JournalOracle(target, journal)
    params: dict[str, Any] = {}
    if activation == "leaky_relu":
        params["slope"] = slope
    elif activation in ("maxout", "lwta"):
        params["k"] = pieces
    with attack_progress(quiet) as progress:
        if widths is None:
            rec = lr_blind(
                target,
                budget=budget,
                exact=exact,
                reduction=reduction,
                n_samples=n_samples,
                random_state=seed,
                progress=progress,
            )
        else:
            rec = chosen_weights(
                target,
                parse_ints(widths, "--widths"),
                activation=activation,
                bias=bias,
                budget=budget,
                reduction=reduction,
                n_samples=n_samples,
                method=method,
                snap=snap,
                pack=pack,
                random_state=seed,
                progress=progress,
                **params,
            )
    rec.save(out)
    found = f"widths {rec.widths} and " if widths is None else ""
    scale = "exact" if rec.scale_known else "up to scale"
    console = Console()
    console.print(
        f"Recovered {found}{rec.n_samples} samples ({scale}) with {rec.queries:,} queries; "
        f"saved {out}"
    )
    if isinstance(target, JournalOracle):
        console.print(
            f"{target.replayed:,} queries answered from the journal {journal}, "
            f"{target.asked:,} asked"
        )

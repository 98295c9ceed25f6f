"""``lossrecon audit``: point it at your own Flower App or PyTorch model, get a report."""

from __future__ import annotations

import io
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import typer
from rich.console import Console
from rich.markup import escape

from lossrecon.attacks.chosen.queries import MEMORY
from lossrecon.cli.common import reports_errors
from lossrecon.errors import ConfigurationError

audit_app = typer.Typer(
    help="Audit what your Flower App's or PyTorch model's loss leaks; write a report.",
    no_args_is_help=True,
)


_MEMORY_GIB = MEMORY / 2**30
_MEMORY_HELP = "GiB the queries in flight may take (larger batches go in blocks)"


def _bytes(gib: float) -> int:
    if not gib > 0:
        raise typer.BadParameter(f"must be positive, got {gib}", param_hint="--memory")
    return int(gib * 2**30)


def _config(pairs: list[str]) -> dict[str, Any]:
    """["lr=0", "momentum=0"] -> {"lr": 0.0, "momentum": 0.0} (numbers where they parse)."""
    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, text = pair.partition("=")
        if not sep or not key:
            raise typer.BadParameter(
                f"expected KEY=VALUE, got {pair!r}", param_hint="--train-config"
            )
        try:
            out[key] = float(text)
        except ValueError:
            out[key] = text
    return out


def _progress(console: Console) -> Callable[[str, dict[str, Any]], None]:
    """A progress callback printing a line every 100 rounds (each client and split: its
    phase, queries answered, samples recovered) and one per result."""

    def show(what: str, fields: dict[str, Any]) -> None:
        if what == "round" and fields["rounds"] % 100 == 0:
            splits = "; ".join(
                f"{label} {phase} {queries:,} q"
                + (f" (+{waiting:,} waiting)" if waiting else "")
                + f" {samples:,} samples"
                for label, (phase, queries, samples, waiting) in sorted(fields["clients"].items())
            )
            console.print(f"round {fields['rounds']:,}: {splits}")
        elif what == "defense":
            recall = fields["recall"]
            shown = "-" if recall is None else f"{recall:.1%}"
            console.print(f"defense {fields['label']}: recall {shown}")
        elif what == "split":
            console.print(f"{fields['client']} {fields['split']}: {fields['recovered']} samples")

    return show


def _console_beside_logs() -> Console:
    """The console, on a copy of standard output where that is this process's own: Flower
    and Ray write to the process's standard output and error, which the audit sends to a
    log file while it runs; the audit's own lines stay on the console."""
    try:
        own = sys.stdout.fileno() == 1
    except (AttributeError, OSError, io.UnsupportedOperation):
        own = False
    return Console(file=os.fdopen(os.dup(1), "w", buffering=1)) if own else Console()


def _finish(result: Any, out: Path, console: Console) -> None:
    """The report written, the verdict and where the report is said; what kept the audit
    from reading everything said one line each, and exit code 3 for it (1: an error
    before the audit could run, 2: a usage error)."""
    from lossrecon.audit.report import write_report

    page = write_report(result, out)
    console.print(result.verdict())
    console.print(f"report: {page}")
    problems = result.problems()
    if problems:
        errors = Console(stderr=True, soft_wrap=True)
        for line in problems:
            errors.print(f"[red]not read:[/red] {escape(line)}")
        raise typer.Exit(3)


@audit_app.command("flower")
@reports_errors
def flower(
    app_dir: Annotated[Path, typer.Argument(help="the Flower App's directory (pyproject.toml)")],
    model: Annotated[str, typer.Option(help="the app's model: package.module:Net or file.py:make")],
    clients: Annotated[int, typer.Option(help="SuperNodes to run (clients to audit)")] = 2,
    queries_per_round: Annotated[
        int | None,
        typer.Option(help="messages per client and round (default: from a round's cost)"),
    ] = None,
    split: Annotated[
        list[str] | None, typer.Option(help="channels to read: train, evaluate (default both)")
    ] = None,
    train_config: Annotated[
        list[str] | None, typer.Option(help="config sent with train messages (default lr=0)")
    ] = None,
    metric: Annotated[
        list[str] | None,
        typer.Option(
            help="SPLIT=KEY of the reported loss (default train=train_loss, evaluate=eval_loss)"
        ),
    ] = None,
    truth: Annotated[
        str | None, typer.Option(help="FILE.npz or module:function: score against the truth")
    ] = None,
    defenses: Annotated[bool, typer.Option(help="measure the defenses")] = True,
    journal: Annotated[
        Path | None, typer.Option(help="keep every answer here; a re-run resumes from it")
    ] = None,
    memory: Annotated[float, typer.Option(help=_MEMORY_HELP)] = _MEMORY_GIB,
    out: Annotated[Path, typer.Option(help="where the report goes")] = Path("audit-report"),
) -> None:
    """Audit a Flower App, run unchanged in Flower's simulation engine against a malicious server.

    Every client's train and evaluate losses are read; the report goes in OUT.
    """
    from lossrecon.audit import audit_flower

    metrics = {}
    for pair in metric or []:
        name, sep, key = pair.partition("=")
        if not sep:
            raise typer.BadParameter(f"expected SPLIT=KEY, got {pair!r}", param_hint="--metric")
        metrics[name] = key
    out.mkdir(parents=True, exist_ok=True)
    console = _console_beside_logs()
    result = audit_flower(
        app_dir,
        model,
        clients=clients,
        queries_per_round=queries_per_round,
        splits=tuple(split or ("train", "evaluate")),
        metrics=metrics,
        train_config=_config(train_config) if train_config else None,
        truth=truth,
        defenses=defenses,
        journal=journal,
        progress=_progress(console),
        log=out / "flower.log",
        memory=_bytes(memory),
    )
    _finish(result, out, console)


@audit_app.command("torch")
@reports_errors
def torch_model(
    model: Annotated[str, typer.Option(help="file.py:factory or package.module:Net")],
    data: Annotated[Path, typer.Option(help=".npz with 'inputs' (M, ...) and 'targets'")],
    loss: Annotated[str, typer.Option(help="cross_entropy (class indices) or mse")] = (
        "cross_entropy"
    ),
    reduction: Annotated[str, typer.Option(help="mean or sum")] = "mean",
    dtype: Annotated[
        str | None, typer.Option(help="evaluate in this dtype (default: the model's)")
    ] = None,
    defenses: Annotated[bool, typer.Option(help="measure the defenses")] = True,
    memory: Annotated[float, typer.Option(help=_MEMORY_HELP)] = _MEMORY_GIB,
    out: Annotated[Path, typer.Option(help="where the report goes")] = Path("audit-report"),
) -> None:
    """Audit a PyTorch model and its training data in hand: the same report, no Flower."""
    from lossrecon.audit import audit_torch
    from lossrecon.audit.model import load_model

    if not data.is_file():
        raise ConfigurationError(f"data file {data} does not exist")
    with np.load(data) as arrays:
        missing = {"inputs", "targets"} - set(arrays.files)
        if missing:
            raise ConfigurationError(f"{data} has no {sorted(missing)} (it has {arrays.files})")
        inputs, targets = arrays["inputs"], arrays["targets"]
    console = Console()
    result = audit_torch(
        load_model(model),
        inputs,
        targets,
        loss=loss,
        reduction=reduction,
        dtype=dtype,
        defenses=defenses,
        progress=_progress(console),
        memory=_bytes(memory),
    )
    _finish(result, out, console)

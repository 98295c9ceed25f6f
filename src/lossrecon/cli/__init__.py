"""The ``lossrecon`` command line: one command a module, assembled here."""

from __future__ import annotations

import typer

from lossrecon.cli import attack, audit, bench, demo, evaluate, virtual

app = typer.Typer(
    name="lossrecon",
    help="Reconstruct training samples from loss values, and audit what a loss leaks.",
    no_args_is_help=True,
    add_completion=False,
)
app.command("demo")(demo.demo)
app.command("attack")(attack.attack)
app.command("evaluate")(evaluate.evaluate)
app.command("virtual")(virtual.virtual)
app.command("bench")(bench.bench)
app.add_typer(audit.audit_app, name="audit")

__all__ = ["app"]

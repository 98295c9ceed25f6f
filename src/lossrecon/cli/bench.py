"""``lossrecon bench``: attacks x data sets x defenses, as JSON, Markdown and PNG plots."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from lossrecon.bench import run_bench
from lossrecon.cli.common import reports_errors


@reports_errors
def bench(
    out: Annotated[Path, typer.Option(help="folder for bench.json, report.md and the PNGs")] = Path(
        "lossrecon-bench"
    ),
    quick: Annotated[bool, typer.Option(help="small problems, about a minute")] = False,
) -> None:
    """Run the chosen, blind and baseline attacks side by side and behind every defense."""
    console = Console()
    start = time.perf_counter()
    with console.status("starting") as status:
        results = run_bench(out, quick=quick, say=lambda message: status.update(message))
    console.print(
        f"{len(results['side_by_side']) + len(results['defenses']) + len(results['growth'])} "
        f"attack runs in {time.perf_counter() - start:.0f} s; report: {out / 'report.md'}"
    )

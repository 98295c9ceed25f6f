"""A rich progress display for attacks: queries spent and samples found, per phase."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn


@contextmanager
def attack_progress(quiet: bool = False) -> Iterator:
    """Yield a callback ``(phase, queries, samples)`` that keeps a live status line."""
    if quiet:
        yield None
        return
    with Progress(
        SpinnerColumn(),
        TextColumn("[bold]{task.fields[phase]:<12}"),
        TextColumn("{task.fields[queries]:>10,} queries"),
        TextColumn("{task.fields[samples]:>7,} samples"),
        TimeElapsedColumn(),
        transient=True,
    ) as progress:
        task = progress.add_task("attack", phase="starting", queries=0, samples=0)

        def update(phase: str, queries: int, samples: int) -> None:
            progress.update(task, phase=phase, queries=queries, samples=samples)

        yield update

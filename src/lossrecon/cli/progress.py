"""A rich progress display for attacks: queries spent and samples found, per phase."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from rich import progress as rich_progress

from lossrecon.attacks.contract import Progress


@contextmanager
def attack_progress(quiet: bool = False) -> Iterator[Progress | None]:
    """Yield a callback ``(phase, queries, samples)`` that keeps a live status line."""
    if quiet:
        yield None
        return
    with rich_progress.Progress(
        rich_progress.SpinnerColumn(),
        rich_progress.TextColumn("[bold]{task.fields[phase]:<12}"),
        rich_progress.TextColumn("{task.fields[queries]:>10,} queries"),
        rich_progress.TextColumn("{task.fields[samples]:>7,} samples"),
        rich_progress.TimeElapsedColumn(),
        transient=True,
    ) as progress:
        task = progress.add_task("attack", phase="starting", queries=0, samples=0)

        def update(phase: str, queries: int, samples: int) -> None:
            progress.update(task, phase=phase, queries=queries, samples=samples)

        yield update

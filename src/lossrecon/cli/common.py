"""Helpers shared by the CLI commands: option parsing and error reporting."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import ParamSpec, TypeVar

import typer
from rich.console import Console
from rich.markup import escape

from lossrecon.errors import LossreconError

P = ParamSpec("P")
R = TypeVar("R")


def parse_ints(text: str, option: str, count: int | None = None) -> list[int]:
    """ "2,2,1" -> [2, 2, 1] (exactly ``count`` of them when given); anything else is a
    usage error naming the option."""
    try:
        values = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise typer.BadParameter(
            f"expected comma-separated integers, got {text!r}", param_hint=option
        ) from None
    if count is not None and len(values) != count:
        raise typer.BadParameter(
            f"expected {count} comma-separated integers, got {text!r}", param_hint=option
        )
    return values


def reports_errors(command: Callable[P, R]) -> Callable[P, R]:
    """Turn a LossreconError into a one-line message and exit code 1, not a traceback."""

    @functools.wraps(command)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return command(*args, **kwargs)
        except LossreconError as exc:
            Console(stderr=True, soft_wrap=True).print(f"[red]error:[/red] {escape(str(exc))}")
            raise typer.Exit(1) from None

    return wrapper

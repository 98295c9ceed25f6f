"""What the benchmark scripts share: an oracle wrapper that adds up the wall time of the
oracle's own answers (so an attack's overhead is a ratio measured in one run), an attack
run timed with its warnings kept, and writing results as JSON and a Markdown table into
benchmarks/results/."""

from __future__ import annotations

import json
import platform
import time
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from lossrecon.oracle import OracleWrapper

RESULTS = Path(__file__).parent / "results"


def timed(run: Callable[[], Any]) -> tuple[Any, float, list[str]]:
    """run()'s result, its wall time in seconds and the warnings it emitted."""
    start = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = run()
    return result, time.perf_counter() - start, [str(w.message) for w in caught]


def table(columns: Sequence[tuple[str, Callable[[dict], object]]], cases: list[dict]) -> str:
    """A Markdown table: one row a case, one column a (header, cell of the case) pair."""
    lines = ["| " + " | ".join(h for h, _ in columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(str(cell(c)) for _, cell in columns) + " |" for c in cases]
    return "\n".join(lines) + "\n"


def save(stem: str, cases: list[dict], table: str) -> None:
    """Write results/STEM.json (with the machine) and results/STEM.md, print the table."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    payload = {"machine": platform.platform(), "cases": cases}
    (RESULTS / f"{stem}.json").write_text(json.dumps(payload, indent=2))
    (RESULTS / f"{stem}.md").write_text(table)
    print(table)


class TimedOracle(OracleWrapper):
    """Wraps an oracle and adds up the wall time of its answers."""

    def __init__(self, oracle: object) -> None:
        super().__init__(oracle)
        self.seconds = 0.0

    def __call__(self, W: np.ndarray) -> np.ndarray:
        start = time.perf_counter()
        answer = super().__call__(W)
        self.seconds += time.perf_counter() - start
        return answer

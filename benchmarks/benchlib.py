"""What the benchmark scripts share: an oracle wrapper that adds up the wall time of the
oracle's own answers (so an attack's overhead is a ratio measured in one run), and
writing results as JSON and Markdown into benchmarks/results/."""

from __future__ import annotations

import json
import platform
import time
from pathlib import Path

import numpy as np

from lossrecon.oracle import OracleWrapper

RESULTS = Path(__file__).parent / "results"


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

"""What a query costs through Flower: the digits Flower App (examples/flower_digits) run
in the simulation engine and in the deployment engine (SuperLink and SuperNode as
separate processes on localhost), with one and with several queries a round.

Each case runs the example's own script and keeps the report it prints (rounds,
queries, wall time, recall). The deployment engine starts a fresh ClientApp process for
every message and its SuperNode polls every 3 s when idle, so it is run on a couple of
samples only: a query's cost does not depend on M. Writes
benchmarks/results/flower_rounds.{json,md}.

    python benchmarks/flower_rounds.py [--quick]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

from benchlib import save, table

EXAMPLE = Path(__file__).parent.parent / "examples" / "flower_digits"

CASES = [
    ("simulation", 10, 1),
    ("simulation", 10, 32),
    ("deployment", 2, 1),
    ("deployment", 2, 32),
]


def run(engine: str, samples: int, queries_per_round: int) -> dict:
    command = [
        sys.executable,
        str(EXAMPLE / f"{engine}.py"),
        "--samples",
        str(samples),
        "--queries-per-round",
        str(queries_per_round),
    ]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    lines = out.splitlines()
    start = max(i for i, line in enumerate(lines) if line == "{")  # the printed report
    report = json.loads("\n".join(lines[start:]))
    return {"engine": engine, **report}


COLUMNS = [
    ("engine", lambda c: c["engine"]),
    ("samples", lambda c: c["samples_per_client"]),
    ("queries/round", lambda c: c["queries_per_round"]),
    ("rounds", lambda c: c["rounds"]),
    ("queries", lambda c: c["queries_per_client"]),
    ("s/round", lambda c: f"{c['seconds_per_round']:.3f}"),
    ("s/query", lambda c: f"{c['seconds_per_query']:.3f}"),
    ("recall", lambda c: c["recall_per_client"]),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick",
        action="store_true",
        help="the simulation cases only, into results/flower_rounds_quick.json",
    )
    args = parser.parse_args()
    cases = [run(*case) for case in CASES if not args.quick or case[0] == "simulation"]
    save("flower_rounds_quick" if args.quick else "flower_rounds", cases, table(COLUMNS, cases))


if __name__ == "__main__":
    main()

"""`lossrecon audit flower` on the example template App (examples/flower_template): two
clients, each with 100 training and 25 held-out digits (batches of 25), both splits read
through Flower's simulation engine, one message a client and split a round (or
``--queries-per-round``), the defenses measured in process. The audit's own report
(report.json, report.html) goes to benchmarks/results/audit_flower/; the summary rows
to benchmarks/results/audit_flower.{json,md}.

    python benchmarks/audit_flower.py [--queries-per-round 1] [--no-defenses]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from benchlib import save, table

from lossrecon.audit import audit_flower
from lossrecon.audit.report import write_report

APP = Path(__file__).parent.parent / "examples" / "flower_template"
RESULTS = Path(__file__).parent / "results"

COLUMNS = [
    ("client", lambda c: c["client"]),
    ("split", lambda c: c["split"]),
    ("examples", lambda c: c["num_examples"]),
    ("recovered", lambda c: c["recovered"]),
    ("recall", lambda c: c["recall"]),
    ("exact", lambda c: c["exact"]),
    ("classes", lambda c: c["classes"]),
    ("queries", lambda c: c["queries"]),
    ("rounds", lambda c: c["rounds"]),
    ("wall s", lambda c: f"{c['seconds']:.0f}"),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--queries-per-round", type=int, default=1)
    parser.add_argument("--no-defenses", action="store_true")
    args = parser.parse_args()
    start = time.perf_counter()
    result = audit_flower(
        APP,
        "template_app.task:Net",
        clients=2,
        queries_per_round=args.queries_per_round,
        truth="template_app.task:truth",
        defenses=not args.no_defenses,
    )
    seconds = time.perf_counter() - start
    suffix = "" if args.queries_per_round == 1 else f"_q{args.queries_per_round}"
    write_report(result, RESULTS / f"audit_flower{suffix}")
    cases = []
    for split in result.to_json()["splits"]:
        score = split["score"] or {}
        cases.append(
            {
                **{k: split[k] for k in ("client", "split", "num_examples", "recovered")},
                **{k: split[k] for k in ("queries", "rounds", "seconds")},
                **{k: score.get(k) for k in ("recall", "exact", "classes")},
            }
        )
    cases.append(
        {
            "client": "all",
            "split": "audit",
            "rounds": result.rounds,
            "seconds": seconds,
            "verdict": result.verdict(),
            "queries_per_round": args.queries_per_round,
            "defenses": [d.to_json() for d in result.defenses],
        }
    )
    rows = [c for c in cases if c["split"] != "audit"]
    save(
        f"audit_flower{suffix}",
        cases,
        table(COLUMNS, rows) + f"\n\nwhole audit: {seconds:.0f} s, {result.rounds} rounds\n",
    )
    print(result.verdict(), f"({seconds:.0f} s)")


if __name__ == "__main__":
    main()

"""The malicious ServerApp: the chosen-weights attack through evaluate rounds.

It sends every connected client its own weight vectors as evaluate instructions and
reads the losses they report (``lossrecon.oracle.flower.attack_clients``). The server
knows the architecture, as a real one does, and nothing of the loss: the attack reads
its kind (cross-entropy), the client's arithmetic (float32), the reduction and M off
the answers. Only the score at the end looks at the truth, to report recall; the attack
does not.
"""

import json
import time
import warnings
from pathlib import Path

from flwr.common import Context
from flwr.common.logger import log
from flwr.server import Grid, ServerApp

import lossrecon as lr
from digits_app.task import WIDTHS, private_data
from lossrecon.oracle.flower import attack_clients

app = ServerApp()


def attack(oracle) -> lr.Reconstruction:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return lr.attacks.chosen_weights(oracle, WIDTHS, bias=True, snap=True)


def score(results: dict, clients: int, samples: int) -> list:
    """Each client's recall against the best-matching partition (the truth, for the
    report only)."""
    truths = [private_data(p, samples) for p in range(clients)]
    recalls = []
    for rec in results.values():
        if isinstance(rec, lr.Reconstruction):
            recalls.append(max(lr.evaluate(rec, t.inputs, t.targets)["recall"] for t in truths))
        else:
            recalls.append(f"attack failed: {rec}")
    return recalls


def run_attack(grid: Grid, clients: int, samples: int, queries_per_round: int = 1) -> dict:
    """Attack ``clients`` connected clients at once; the report as a dict."""
    start = time.perf_counter()
    results, rounds = attack_clients(
        grid,
        WIDTHS,
        attack,
        bias=True,
        min_clients=clients,
        timeout=120.0,
        queries_per_round=queries_per_round,
    )
    seconds = time.perf_counter() - start
    found = [rec for rec in results.values() if isinstance(rec, lr.Reconstruction)]
    queries = max((rec.queries for rec in found), default=0)
    first = found[0].stats if found else None
    return {
        "clients": clients,
        "samples_per_client": samples,
        "queries_per_round": queries_per_round,
        "rounds": rounds,
        "queries_per_client": queries + 1,
        "seconds": seconds,
        "seconds_per_round": seconds / rounds,
        "seconds_per_query": seconds / (queries + 1),
        "recall_per_client": score(results, clients, samples),
        "method": first and first.method,
        "loss_read": first and first.loss,
        "dtype_read": first and first.dtype,
        "grid": first and first.grid,
    }


@app.main()
def main(grid: Grid, context: Context) -> None:
    config = context.run_config
    try:
        report = run_attack(
            grid, int(config["clients"]), int(config["samples"]), int(config["queries-per-round"])
        )
    except Exception as exc:  # the launcher waits for a report: say what went wrong
        report = {"error": f"{type(exc).__name__}: {exc}"}
        raise
    finally:
        log(20, "lossrecon report: %s", json.dumps(report))
        if config["report"]:
            path = Path(str(config["report"]))
            path.with_suffix(".tmp").write_text(json.dumps(report, indent=2))
            path.with_suffix(".tmp").replace(path)

"""The targets for the blind attack (architecture unknown), measured in one run.

For each network, M and seed: recall@1e-6 of the inputs up to scale, whether the widths
and depth came out exactly, queries (total and per phase), floor_ratio, overhead_ratio
(attack wall time over the oracle's own time in that run), and the chosen-weights
attack's hat on the same oracle for comparison. Gaussian inputs and labels
(``lr.synthetic``). Writes benchmarks/results/blind.json and a Markdown table beside it.

    python benchmarks/blind.py            # 3 networks x M in {5, 20, 50} x 3 seeds
    python benchmarks/blind.py --quick    # the smallest network, one seed
"""

from __future__ import annotations

import argparse
import json
import warnings

from benchlib import TimedOracle, save, table, timed

import lossrecon as lr

NETWORKS = ([8, 6, 4, 1], [16, 8, 8, 1], [32, 16, 8, 4, 2])


def run_case(widths: list[int], m: int, seed: int) -> dict:
    data = lr.synthetic(m, widths[0], widths[-1], random_state=seed)
    net = lr.ReLUNetwork(widths)
    oracle = TimedOracle(lr.NumpyLossOracle(net, data.inputs, data.targets))
    rec, seconds, caught = timed(lambda: lr.attacks.blind(oracle, exact=True, random_state=seed))
    report = lr.evaluate(rec, data.inputs, data.targets)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        target = lr.NumpyLossOracle(net, data.inputs, data.targets)
        chosen = lr.attacks.chosen_weights(target, widths, method="hat")
    chosen_report = lr.evaluate(chosen, data.inputs, data.targets)
    phases = {f"queries_{k}": v for k, v in rec.stats.queries_by_phase.items()}
    result = {
        "widths": widths,
        "M": m,
        "seed": seed,
        "N": net.n_params,
        "widths_found": rec.widths,
        "widths_exact": rec.widths == widths,
        "depth_exact": len(rec.widths) == len(widths),
        "recall": report["recall"],
        "precision": report["precision"],
        "complete": rec.stats.complete,
        "input_rel_error_median": report["input_rel_error_median"],
        "target_rel_error_median": report["target_rel_error_median"],
        "queries": rec.queries,
        **phases,
        "floor_ratio": report["floor_ratio"],
        "attack_seconds": seconds,
        "oracle_seconds": oracle.seconds,
        "overhead_ratio": seconds / oracle.seconds,
        "chosen_queries": chosen.queries,
        "chosen_recall": chosen_report["recall"],
        "chosen_floor_ratio": chosen_report["floor_ratio"],
        "warnings": caught,
    }
    print(json.dumps({k: v for k, v in result.items() if k != "warnings"}))
    return result


COLUMNS = [
    ("widths", lambda c: "-".join(map(str, c["widths"]))),
    ("N", lambda c: c["N"]),
    ("M", lambda c: c["M"]),
    ("seed", lambda c: c["seed"]),
    ("widths exact", lambda c: "yes" if c["widths_exact"] else f"NO: {c['widths_found']}"),
    ("recall", lambda c: f"{c['recall']:.3f}"),
    ("precision", lambda c: f"{c['precision']:.3f}"),
    ("queries", lambda c: f"{c['queries']:,}"),
    ("architecture", lambda c: f"{c.get('queries_architecture', 0):,}"),
    ("inputs", lambda c: f"{c.get('queries_inputs', 0):,}"),
    ("floor_ratio", lambda c: f"{c['floor_ratio']:.0f}"),
    ("overhead_ratio", lambda c: f"{c['overhead_ratio']:.2f}"),
    ("chosen queries", lambda c: f"{c['chosen_queries']:,}"),
    ("chosen recall", lambda c: f"{c['chosen_recall']:.3f}"),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="8-6-4-1, one seed")
    parser.add_argument("--seeds", type=int, default=3, help="seeds per network and M")
    args = parser.parse_args()
    networks = NETWORKS[:1] if args.quick else NETWORKS
    seeds = range(1 if args.quick else args.seeds)
    cases = [
        run_case(list(widths), m, seed)
        for widths in networks
        for m in (5, 20, 50)
        for seed in seeds
    ]
    stem = "blind" + ("_quick" if args.quick else "")
    save(stem, cases, table(COLUMNS, cases))


if __name__ == "__main__":
    main()

"""The targets for the chosen-weights attack's hat (float64, bias-free), measured in one run.

The hat is what reads a network the gates cannot drive; here it runs on purpose on
networks they could (``method="hat"``; benchmarks/gates.py measures the gates).

For each case: recall@1e-6, median relative errors of inputs and labels, floor_ratio
(queries / (M (n + 1))), and overhead_ratio: the attack's wall time over the time the
oracle spent answering the same queries inside that run (so both share the machine's
load). Writes benchmarks/results/chosen_weights.json and a Markdown table beside it.

    python benchmarks/chosen_weights.py                # digits and synthetic n=784, M=1000
    python benchmarks/chosen_weights.py --grid         # growth with M, n and depth
    python benchmarks/chosen_weights.py --quick        # small cases, a minute
"""

from __future__ import annotations

import argparse
import json

from benchlib import TimedOracle, save, table, timed

import lossrecon as lr


def run_case(name: str, data: lr.Dataset, widths: list[int], seed: int = 0) -> dict:
    net = lr.ReLUNetwork(widths)
    oracle = TimedOracle(lr.NumpyLossOracle(net, data.inputs, data.targets))
    rec, seconds, caught = timed(
        lambda: lr.attacks.chosen_weights(oracle, widths, method="hat", random_state=seed)
    )
    report = lr.evaluate(rec, data.inputs, data.targets)
    result = {
        "case": name,
        "widths": widths,
        "M": int(data.n_samples),
        "n": int(data.n_features),
        "recall": report["recall"],
        "precision": report["precision"],
        "input_rel_error_median": report["input_rel_error_median"],
        "target_rel_error_median": report["target_rel_error_median"],
        "input_rel_error_max": report["input_rel_error_max"],
        "queries": report["queries"],
        "floor_ratio": report["floor_ratio"],
        "attack_seconds": seconds,
        "oracle_seconds": oracle.seconds,
        "overhead_ratio": seconds / oracle.seconds,
        "warnings": caught,
    }
    print(json.dumps({k: v for k, v in result.items() if k != "warnings"}))
    return result


def main_cases(quick: bool) -> list[dict]:
    digits = lr.load_dataset("digits", n_samples=300 if quick else None)
    cases = [run_case("digits", digits, [64, 32, 16, 10])]
    m, n = (200, 128) if quick else (1000, 784)
    synthetic = lr.synthetic(m, n, 10, random_state=0)
    cases.append(run_case(f"synthetic n={n}", synthetic, [n, 32, 16, 10]))
    return cases


def grid_cases() -> list[dict]:
    cases = []
    for m in (100, 300, 1000):
        for n in (16, 64, 256):
            cases.append(run_case("grid", lr.synthetic(m, n, 10, random_state=1), [n, 32, 16, 10]))
    for depth in (2, 3, 4):
        widths = [64, *([16] * (depth - 1)), 10]
        cases.append(run_case("depth", lr.synthetic(300, 64, 10, random_state=2), widths))
    return cases


COLUMNS = [
    ("case", lambda c: c["case"]),
    ("widths", lambda c: "-".join(map(str, c["widths"]))),
    ("M", lambda c: c["M"]),
    ("n", lambda c: c["n"]),
    ("recall", lambda c: f"{c['recall']:.4f}"),
    ("input err (median)", lambda c: f"{c['input_rel_error_median']:.1e}"),
    ("label err (median)", lambda c: f"{c['target_rel_error_median']:.1e}"),
    ("floor_ratio", lambda c: f"{c['floor_ratio']:.3f}"),
    ("overhead_ratio", lambda c: f"{c['overhead_ratio']:.2f}"),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small cases only")
    parser.add_argument("--grid", action="store_true", help="growth with M, n and depth")
    args = parser.parse_args()
    cases = grid_cases() if args.grid else main_cases(args.quick)
    stem = "chosen_weights" + ("_grid" if args.grid else "") + ("_quick" if args.quick else "")
    save(stem, cases, table(COLUMNS, cases))


if __name__ == "__main__":
    main()

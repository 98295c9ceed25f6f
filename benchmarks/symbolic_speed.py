"""The symbolic core's speed: every virtual polynomial of a 3-3-3-1 network, factorized.

Times FLINT (python-flint) and sympy on the same polynomials in one run and writes
benchmarks/results/symbolic_speed.json. Target: under 10 s with the faster backend.

    python benchmarks/symbolic_speed.py [--widths 3,3,3,1]
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

from lossrecon import symbolic


def all_virtual_polynomials(widths: list[int]) -> list:
    polys = {}
    for k in range(2, len(widths) + 1):
        for i in range(1, widths[k - 1] + 1):
            for poly in symbolic.virtual_polynomials(widths, (i, k)):
                if poly != 0:
                    polys[poly] = None
    return list(polys)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--widths", default="3,3,3,1")
    parser.add_argument(
        "--out", default=str(Path(__file__).parent / "results" / "symbolic_speed.json")
    )
    args = parser.parse_args()
    widths = [int(w) for w in args.widths.split(",")]

    start = time.perf_counter()
    polys = all_virtual_polynomials(widths)
    enumerate_seconds = time.perf_counter() - start
    result = {
        "widths": widths,
        "n_polynomials": len(polys),
        "enumerate_seconds": enumerate_seconds,
        "machine": platform.platform(),
    }
    counts = {}
    for backend in ("flint", "sympy"):
        start = time.perf_counter()
        factorizations = [symbolic.factor(p, backend) for p in polys]
        result[f"{backend}_factor_seconds"] = time.perf_counter() - start
        counts[backend] = sum(len(f.factors) for f in factorizations)
    result["factors_found"] = counts
    result["backends_agree_on_factor_counts"] = counts["flint"] == counts["sympy"]
    result["sympy_over_flint"] = result["sympy_factor_seconds"] / result["flint_factor_seconds"]
    result["total_seconds_flint"] = enumerate_seconds + result["flint_factor_seconds"]
    result["target_seconds"] = 10.0
    result["meets_target"] = result["total_seconds_flint"] < 10.0
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()

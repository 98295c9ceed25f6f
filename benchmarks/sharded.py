"""Speed-up of the Ray-sharded oracle over one process, measured in one run.

The same (K, N) batch is evaluated by ``NumpyLossOracle`` and by ``ShardedLossOracle``
with 1 and 2 shards (after one warm-up call each); the answers must agree to 1e-10.
Writes benchmarks/results/sharded.json.

    python benchmarks/sharded.py          # M = 20,000 synthetic samples, 64-32-16-10, K = 2,048
"""

from __future__ import annotations

import json
import os
import platform
import time
from pathlib import Path

import numpy as np

import lossrecon as lr
from lossrecon.oracle.sharded import ShardedLossOracle

RESULTS = Path(__file__).parent / "results"


def seconds(oracle, W: np.ndarray, repeats: int = 3) -> tuple[float, np.ndarray]:
    answer = oracle(W)
    start = time.perf_counter()
    for _ in range(repeats):
        oracle(W)
    return (time.perf_counter() - start) / repeats, answer


def main() -> None:
    widths = [64, 32, 16, 10]
    data = lr.synthetic(20_000, 64, 10, random_state=0)
    net = lr.ReLUNetwork(widths)
    W = net.random_weights(2048, random_state=1)
    single, expected = seconds(lr.NumpyLossOracle(net, data.inputs, data.targets), W)
    result = {
        "machine": platform.platform(),
        "cpus": os.cpu_count(),
        "M": 20_000,
        "widths": widths,
        "K": len(W),
        "one_process_seconds": single,
    }
    for shards in (1, 2):
        oracle = ShardedLossOracle(net, data.inputs, data.targets, shards=shards)
        took, answer = seconds(oracle, W)
        oracle.close()
        assert np.allclose(answer, expected, rtol=1e-10)
        result[f"shards_{shards}_seconds"] = took
        result[f"shards_{shards}_speedup"] = single / took
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "sharded.json").write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()

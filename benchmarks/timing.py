"""An oracle wrapper that adds up the wall time of the oracle's own answers, so that a
benchmark can report an attack's overhead as a ratio measured in one run."""

from __future__ import annotations

import time

import numpy as np


class TimedOracle:
    """Wraps an oracle and adds up the wall time of its answers."""

    def __init__(self, oracle: object) -> None:
        self.oracle = oracle
        self.n_params = oracle.n_params
        self.reduction = getattr(oracle, "reduction", "half_sum")
        self.seconds = 0.0

    def __call__(self, W: np.ndarray) -> np.ndarray:
        start = time.perf_counter()
        answer = self.oracle(W)
        self.seconds += time.perf_counter() - start
        return answer

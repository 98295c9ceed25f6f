"""Real-size targets: a 3072-64-32-10 MLP (199,082 weights) on 3x32x32 photograph
patches, as CIFAR-10 pipelines and Flower's quickstart feed them (pixels / 255,
normalized to [-1, 1], float32), cross-entropy — read by ``lossrecon audit torch``'s
attack in bounded memory, and the same run interrupted and resumed from its journal.

    python benchmarks/real_size.py [--images 64] [--quick]

Patches: 32x32 crops of scikit-learn's two sample photographs (offline, flat regions and
ties as real images have them), each with a class drawn at random. Reports recall,
whether every pixel is equal to the data as held (float32), queries against the bits
limit, wall time, the process's peak memory (its maximum resident set), and for the
journal its bytes a query.
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import torch
from benchlib import save, table
from sklearn.datasets import load_sample_images

import lossrecon as lr
from lossrecon.audit.results import score
from lossrecon.oracle import JournalOracle

COLUMNS = [
    ("case", lambda c: c["case"]),
    ("images", lambda c: c["images"]),
    ("recall", lambda c: c["recall"]),
    ("exact (float32)", lambda c: c["exact"]),
    ("queries", lambda c: f"{c['queries']:,}"),
    ("bits ratio", lambda c: f"{c['bits_ratio']:.2f}"),
    ("wall s", lambda c: f"{c['seconds']:.0f}"),
    ("peak memory GB", lambda c: f"{c['peak_gb']:.2f}"),
    ("journal B/query", lambda c: c.get("journal_bytes_per_query", "—")),
]


def patches(count: int, seed: int = 0) -> np.ndarray:
    """``count`` 3x32x32 crops of the sample photographs, normalized as the quickstart
    does (x / 255 - 0.5) / 0.5, float32, shape (count, 3, 32, 32)."""
    rng = np.random.default_rng(seed)
    photos = load_sample_images().images
    crops = []
    for _ in range(count):
        photo = photos[rng.integers(len(photos))]
        top, left = rng.integers(photo.shape[0] - 32), rng.integers(photo.shape[1] - 32)
        crops.append(photo[top : top + 32, left : left + 32].transpose(2, 0, 1))
    pixels = np.array(crops, dtype=np.float32) / 255.0
    return ((pixels - 0.5) / 0.5).astype(np.float32)


def model() -> torch.nn.Module:
    torch.manual_seed(0)
    return torch.nn.Sequential(
        torch.nn.Flatten(),
        torch.nn.Linear(3072, 64),
        torch.nn.ReLU(),
        torch.nn.Linear(64, 32),
        torch.nn.ReLU(),
        torch.nn.Linear(32, 10),
    )


def peak_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def attack(oracle: object) -> lr.Reconstruction:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return lr.attacks.chosen_weights(oracle, [3072, 64, 32, 10], bias=True, snap=True)


class Crashing(lr.oracle.OracleWrapper):
    """Dies after ``limit`` queries, as a lost client does."""

    def __init__(self, oracle: object, limit: int) -> None:
        super().__init__(oracle)
        self.limit, self.answered = limit, 0

    def __call__(self, W: np.ndarray) -> np.ndarray:
        if self.answered + len(W) > self.limit:
            raise RuntimeError("connection lost")
        self.answered += len(W)
        return super().__call__(W)


def case(name: str, rec: lr.Reconstruction, x: np.ndarray, classes: np.ndarray, seconds: float):
    flat = x.reshape(len(x), -1)
    scored = score(rec, flat, np.eye(10)[classes])
    return {
        "case": name,
        "images": len(x),
        "recall": scored["recall"],
        "exact": scored["exact"],
        "queries": int(rec.queries),
        "bits_limit": rec.stats.bits_limit,
        "bits_ratio": rec.queries / rec.stats.bits_limit if rec.stats.bits_limit else float("nan"),
        "seconds": seconds,
        "peak_gb": peak_gb(),
        "grid": rec.stats.grid,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=64)
    parser.add_argument("--quick", action="store_true", help="4 images")
    args = parser.parse_args()
    count = 4 if args.quick else args.images
    x = patches(count)
    classes = np.random.default_rng(1).integers(0, 10, size=count)
    target = lr.TorchLossOracle(model(), x.reshape(count, -1), classes, torch.nn.CrossEntropyLoss())

    class Undeclared:
        n_params = target.n_params

        def __call__(self, W: np.ndarray) -> np.ndarray:
            return target(W)

    start = time.perf_counter()
    rec = attack(Undeclared())
    cases = [
        case("audit torch's attack, declared nothing", rec, x, classes, time.perf_counter() - start)
    ]
    with tempfile.TemporaryDirectory() as folder:
        journal = Path(folder) / "run.journal"
        start = time.perf_counter()
        attack(JournalOracle(Crashing(Undeclared(), rec.queries // 2), journal))
        counted = lr.CountingOracle(Undeclared())
        resumed_oracle = JournalOracle(counted, journal)
        resumed = attack(resumed_oracle)
        seconds = time.perf_counter() - start
        row = case("interrupted halfway, resumed from its journal", resumed, x, classes, seconds)
        row["replayed"] = resumed_oracle.replayed
        row["asked_again"] = counted.queries
        row["journal_bytes_per_query"] = round(journal.stat().st_size / resumed.queries, 1)
        row["same_as_uninterrupted"] = bool(np.array_equal(resumed.inputs, rec.inputs))
        cases.append(row)
    save("real_size_quick" if args.quick else "real_size", cases, table(COLUMNS, cases))


if __name__ == "__main__":
    main()

"""The packed readout against the bits limit, measured in one run.

Float32 and float64 PyTorch models with biases, declared nowhere, the gated attack with
``pack=True`` (its default) beside ``pack=False`` on the same oracle: floor_ratio =
queries / (M (n + 1)) (one query a number), the bits limit (the data's bits over the bits
one answer carries, `stats.bits_limit`) and the ratio of the queries to it, recall and
whether every input came back exact (after snapping, for the samples read unpacked).

    python benchmarks/packing.py            # all 1797 digits (~15 minutes)
    python benchmarks/packing.py --quick    # 300 digits (~2 minutes)

Cases: scikit-learn digits (17 levels, cross-entropy), synthetic 8-bit images (49 pixels,
values k/255, MSE), Gaussian inputs (no grid), and standardized 8-bit tabular data (no
common step: one affine grid per feature, found from the first 16 samples).
"""

from __future__ import annotations

import argparse
import json

import numpy as np
import torch
from benchlib import save, table, timed
from gates import Undeclared, _fmt, gaussian, mlp

import lossrecon as lr
from lossrecon.evaluation import match


def images(m: int, pixels: int, d: int) -> lr.Dataset:
    """Blocky 8-bit images: values k/255, a few bright strokes on a dark ground."""
    rng = np.random.default_rng(4)
    side = int(np.sqrt(pixels))
    base = rng.integers(0, 40, size=(m, side, side))
    for image in base:
        row, col = rng.integers(0, side, size=2)
        image[row, :] = rng.integers(150, 256)
        image[:, col] = rng.integers(150, 256)
    labels = np.eye(d)[rng.integers(0, d, size=m)]
    return lr.Dataset("8-bit images", base.reshape(m, -1) / 255.0, labels)


def tabular(m: int, n: int, d: int) -> lr.Dataset:
    """8-bit features standardized column by column: a different affine grid each."""
    rng = np.random.default_rng(5)
    raw = rng.integers(0, 256, size=(m, n)).astype(float)
    standardized = (raw - raw.mean(0)) / raw.std(0)
    return lr.Dataset("standardized 8-bit", standardized, np.eye(d)[rng.integers(0, d, m)])


def case(name: str, data: lr.Dataset, loss: str, dtype: str) -> dict:
    widths = [data.n_features, 32, 16, data.targets.shape[1]]
    targets = data.targets.argmax(1) if loss == "cross_entropy" else data.targets
    loss_fn = torch.nn.CrossEntropyLoss() if loss == "cross_entropy" else torch.nn.MSELoss()
    oracle = lr.TorchLossOracle(mlp(widths), data.inputs, targets, loss_fn, dtype=dtype)
    runs = {}
    for pack in (True, False):
        counted = lr.CountingOracle(Undeclared(oracle), overflow=True)
        runs[pack] = timed(
            lambda c=counted, p=pack: lr.attacks.chosen_weights(
                c, widths, bias=True, pack=p, snap=True
            )
        )[0]
    rec, plain = runs[True], runs[False]
    report = lr.evaluate(rec, data.inputs, data.targets)
    found = match(rec.inputs, data.inputs, tau=1e-3)
    exact = np.all(rec.inputs[found.recovered] == data.inputs[found.truth], axis=1)
    packed = rec.stats.packed
    result = {
        "case": name,
        "loss": loss,
        "dtype": dtype,
        "M": data.n_samples,
        "n": data.n_features,
        "pack_grid": rec.stats.pack_grid,
        "per_feature_grid": rec.stats.pack_feature_grids is not None,
        "recall": report["recall"],
        "precision": report["precision"],
        "exact": float(exact.sum() / data.n_samples),
        "queries": rec.queries,
        "floor_ratio": report["floor_ratio"],
        "bits_limit": rec.stats.bits_limit,
        "bits_ratio": rec.queries / rec.stats.bits_limit if rec.stats.bits_limit else None,
        "unpacked_queries": plain.queries,
        "unpacked_floor_ratio": lr.evaluate(plain, data.inputs, data.targets)["floor_ratio"],
        "read_packed": float(np.mean(packed)) if packed is not None and len(packed) else 0.0,
        "queries_by_phase": rec.stats.queries_by_phase,
        "warnings": rec.stats.warnings,
    }
    print(json.dumps({k: v for k, v in result.items() if k != "warnings"}))
    return result


def _grid(c: dict) -> str:
    if c["pack_grid"] is not None:
        return f"1/{round(1 / c['pack_grid'][0])}"
    return "per feature" if c["per_feature_grid"] else "—"


COLUMNS = [
    ("case", lambda c: f"{c['case']} (M={c['M']}, n={c['n']})"),
    ("loss", lambda c: c["loss"]),
    ("dtype", lambda c: c["dtype"]),
    ("grid", lambda c: _grid(c)),
    ("recall", lambda c: _fmt(c["recall"], ".4f")),
    ("precision", lambda c: _fmt(c["precision"], ".4f")),
    ("exact", lambda c: _fmt(c["exact"], ".3f")),
    ("read packed", lambda c: _fmt(c["read_packed"], ".3f")),
    ("floor_ratio", lambda c: _fmt(c["floor_ratio"], ".3f")),
    ("unpacked", lambda c: _fmt(c["unpacked_floor_ratio"], ".3f")),
    ("bits limit", lambda c: _fmt(c["bits_limit"], ".0f")),
    ("queries / bits limit", lambda c: _fmt(c["bits_ratio"], ".2f")),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="300 digits")
    args = parser.parse_args()
    digits = lr.load_dataset("digits", n_samples=300 if args.quick else None)
    digits = lr.Dataset("digits", digits.inputs / 16.0, digits.targets)
    cases = [
        case("digits", digits, "cross_entropy", "float32"),
        case("digits", digits, "cross_entropy", "float64"),
        case("8-bit images", images(300, 49, 2), "squared", "float32"),
        case("gaussian", gaussian(100 if args.quick else 500, 100, 2), "squared", "float32"),
        case("standardized 8-bit", tabular(300, 20, 2), "cross_entropy", "float32"),
    ]
    save("packing_quick" if args.quick else "packing", cases, table(COLUMNS, cases))


if __name__ == "__main__":
    main()

"""Training data: conversion of user arrays, built-in real data sets, synthetic samples.

The real data sets come with scikit-learn and load offline: digits (8x8 images, ten
classes), breast cancer (30 features, two classes) and diabetes (10 features, one
regression target).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lossrecon.errors import ConfigurationError

__all__ = [
    "Dataset",
    "as_array",
    "dataset_names",
    "load_dataset",
    "one_hot",
    "synthetic",
    "training_arrays",
]


def as_array(data: object, name: str) -> np.ndarray:
    """A float64 numpy copy of a numpy array, torch tensor or nested sequence."""
    if hasattr(data, "detach") and hasattr(data, "cpu"):
        data = data.detach().cpu().numpy()
    try:
        array = np.array(data, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ConfigurationError(f"{name} must be numeric, got {type(data).__name__}") from exc
    if not np.all(np.isfinite(array)):
        raise ConfigurationError(f"{name} contains NaN or infinite values")
    return array


def training_arrays(
    inputs: object, targets: object, n_inputs: int | None = None, n_outputs: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Inputs (M, n) and targets (M, d_out) as float64 arrays, checked against each other
    and, when given, against a network's widths. A 1-D target is one output."""
    x = as_array(inputs, "inputs")
    y = as_array(targets, "targets")
    if y.ndim == 1:
        y = y[:, None]
    n = "n" if n_inputs is None else n_inputs
    if x.ndim != 2 or (n_inputs is not None and x.shape[1] != n_inputs):
        raise ConfigurationError(f"inputs must have shape (M, {n}), got {x.shape}")
    d = "d_out" if n_outputs is None else n_outputs
    if y.ndim != 2 or len(y) != len(x) or (n_outputs is not None and y.shape[1] != n_outputs):
        raise ConfigurationError(f"targets must have shape ({len(x)}, {d}), got {y.shape}")
    return x, y


@dataclass(frozen=True)
class Dataset:
    """A training set: inputs (M, n), targets (M, d_out), and where it came from."""

    name: str
    inputs: np.ndarray
    targets: np.ndarray

    @property
    def n_samples(self) -> int:
        return self.inputs.shape[0]

    @property
    def n_features(self) -> int:
        return self.inputs.shape[1]

    @property
    def n_outputs(self) -> int:
        return self.targets.shape[1]


def one_hot(labels: np.ndarray, n_classes: int) -> np.ndarray:
    return np.eye(n_classes)[labels]


def _subset(
    inputs: np.ndarray, targets: np.ndarray, n_samples: int | None, random_state: int | None
) -> tuple[np.ndarray, np.ndarray]:
    if n_samples is None or n_samples >= len(inputs):
        return inputs, targets
    if n_samples < 1:
        raise ConfigurationError(f"n_samples must be positive, got {n_samples}")
    rows = np.sort(np.random.default_rng(random_state).choice(len(inputs), n_samples, False))
    return inputs[rows], targets[rows]


def load_dataset(name: str, n_samples: int | None = None, random_state: int | None = 0) -> Dataset:
    """Load a scikit-learn data set by name: "digits", "breast_cancer" or "diabetes".

    Digits keep their pixel values (0..16) and get one-hot labels; breast-cancer features
    are standardised (their scales differ by four orders of magnitude) with one-hot
    labels; diabetes comes already scaled with its target divided by 100. ``n_samples``
    draws a seeded subset.
    """
    from sklearn import datasets

    if name == "digits":
        raw = datasets.load_digits()
        inputs, targets = raw.data, one_hot(raw.target, 10)
    elif name == "breast_cancer":
        raw = datasets.load_breast_cancer()
        inputs = (raw.data - raw.data.mean(0)) / raw.data.std(0)
        targets = one_hot(raw.target, 2)
    elif name == "diabetes":
        raw = datasets.load_diabetes()
        inputs, targets = raw.data, raw.target[:, None] / 100.0
    else:
        raise ConfigurationError(f"unknown data set {name!r}; choose one of {dataset_names()}")
    inputs, targets = _subset(
        np.asarray(inputs, float), np.asarray(targets, float), n_samples, random_state
    )
    return Dataset(name, inputs, targets)


def dataset_names() -> list[str]:
    """Names :func:`load_dataset` accepts."""
    return ["breast_cancer", "diabetes", "digits"]


def synthetic(
    n_samples: int, n_features: int, n_outputs: int = 1, random_state: int | None = 0
) -> Dataset:
    """Seeded Gaussian inputs (M, n) and Gaussian targets (M, d_out)."""
    if min(n_samples, n_features, n_outputs) < 1:
        raise ConfigurationError(
            f"sizes must be positive, got M={n_samples}, n={n_features}, d_out={n_outputs}"
        )
    rng = np.random.default_rng(random_state)
    return Dataset(
        f"synthetic-{n_samples}x{n_features}",
        rng.normal(size=(n_samples, n_features)),
        rng.normal(size=(n_samples, n_outputs)),
    )

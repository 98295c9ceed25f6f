"""Figures a privacy engineer reads: originals beside reconstructions, loss slices."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["image_pairs_figure", "plot_image_pairs", "recall_figure"]


def image_pairs_figure(
    originals: np.ndarray | None,
    reconstructions: np.ndarray,
    shape: tuple[int, int] = (8, 8),
    title: str = "training samples (top) and what the loss gave away (bottom)",
    columns: int = 12,
) -> Any:
    """A matplotlib Figure: each original image above its reconstruction (the
    reconstructions alone when ``originals`` is None).

    originals and reconstructions: (K, h*w) arrays, matched row by row; one grey scale
    for all, from min(0, lowest pixel) to the highest.
    """
    from matplotlib.figure import Figure

    rows = [reconstructions] if originals is None else [originals, reconstructions]
    names = ["recovered"] if originals is None else ["original", "recovered"]
    count = min(len(rows[0]), columns)
    figure = Figure(figsize=(1.1 * max(count, 2), 1.4 * len(rows) - 0.2))
    axes = figure.subplots(len(rows), max(count, 1), squeeze=False)
    shown = rows[0][:count]
    vmax = float(np.max(shown)) if count else 1.0
    vmin = min(0.0, float(np.min(shown))) if count else 0.0
    for column in range(count):
        for row, images in enumerate(rows):
            axis = axes[row, column]
            axis.imshow(images[column].reshape(shape), cmap="gray_r", vmin=vmin, vmax=vmax)
            axis.set_xticks([])
            axis.set_yticks([])
    for row, name in enumerate(names):
        axes[row, 0].set_ylabel(name, fontsize=8)
    figure.suptitle(title, fontsize=9)
    figure.tight_layout()
    return figure


def recall_figure(rows: list[dict[str, Any]]) -> Any:
    """A matplotlib Figure: recall (tau 1e-6 and 1e-3) against each defense's strength,
    one panel per family measured at several strengths, and one bar panel for the
    defenses measured at a single setting. rows: dicts with family, strength, label,
    recall, recall_coarse."""
    from matplotlib.figure import Figure

    families = list(dict.fromkeys(row["family"] for row in rows))
    curves = [f for f in families if sum(row["family"] == f for row in rows) > 1]
    single = [row for row in rows if row["family"] not in curves]
    panels = len(curves) + bool(single)
    figure = Figure(figsize=(3.4 * max(panels, 1), 2.9))
    axes = list(figure.subplots(1, max(panels, 1), squeeze=False)[0])
    keys = (("recall", "tau 1e-6", "o"), ("recall_coarse", "tau 1e-3", "s"))
    for axis, family in zip(axes, curves, strict=False):
        mine = [row for row in rows if row["family"] == family]
        x = [row["strength"] for row in mine]
        for key, label, marker in keys:
            axis.plot(x, [row[key] or 0.0 for row in mine], marker=marker, label=label)
        if family == "noise":
            axis.set_xscale("log")
        if family == "rounding":
            axis.invert_xaxis()
        axis.set_title(family, fontsize=9)
        axis.set_xlabel({"rounding": "digits kept", "noise": "relative noise"}.get(family, ""))
    if single:
        axis = axes[-1]
        where = np.arange(len(single))
        for shift, (key, label, _) in zip((-0.2, 0.2), keys, strict=True):
            axis.bar(where + shift, [row[key] or 0.0 for row in single], 0.4, label=label)
        axis.set_xticks(where, [row["family"] for row in single], fontsize=8)
        axis.set_title("single settings", fontsize=9)
    for axis in axes:
        axis.set_ylim(-0.05, 1.05)
        axis.set_ylabel("recall")
        axis.legend(fontsize=7)
    figure.tight_layout()
    return figure


def plot_image_pairs(
    originals: np.ndarray,
    reconstructions: np.ndarray,
    path: str | Path,
    shape: tuple[int, int] = (8, 8),
    title: str = "training samples (top) and what the loss gave away (bottom)",
    columns: int = 12,
) -> Path:
    """Save :func:`image_pairs_figure` as a PNG at ``path``."""
    figure = image_pairs_figure(originals, reconstructions, shape, title, columns)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=120)
    return path

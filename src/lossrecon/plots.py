"""Figures a privacy engineer reads: originals beside reconstructions, loss slices."""

from __future__ import annotations

from pathlib import Path

import numpy as np

__all__ = ["plot_image_pairs"]


def plot_image_pairs(
    originals: np.ndarray,
    reconstructions: np.ndarray,
    path: str | Path,
    shape: tuple[int, int] = (8, 8),
    title: str = "training samples (top) and what the loss gave away (bottom)",
    columns: int = 12,
) -> Path:
    """Save a PNG: each original image above its reconstruction.

    originals and reconstructions: (K, h*w) arrays, matched row by row.
    """
    from matplotlib.figure import Figure

    count = min(len(originals), columns)
    figure = Figure(figsize=(1.1 * count, 2.6))
    axes = figure.subplots(2, count, squeeze=False)
    vmax = float(np.max(np.abs(originals[:count]))) or 1.0
    for column in range(count):
        for row, images in enumerate((originals, reconstructions)):
            axis = axes[row, column]
            axis.imshow(images[column].reshape(shape), cmap="gray_r", vmin=0, vmax=vmax)
            axis.set_xticks([])
            axis.set_yticks([])
    axes[0, 0].set_ylabel("original", fontsize=8)
    axes[1, 0].set_ylabel("recovered", fontsize=8)
    figure.suptitle(title, fontsize=9)
    figure.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=120)
    return path

"""The result of an attack: recovered inputs (and labels), with how they were obtained."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from lossrecon.errors import ConfigurationError

__all__ = ["Reconstruction"]

_FORMAT = "lossrecon.Reconstruction/1"


@dataclass
class Reconstruction:
    """What an attack recovered.

    Attributes
    ----------
    inputs:
        (M', n) recovered training inputs; exact when ``scale_known``, else each row is
        the input up to a nonzero factor.
    targets:
        (M', d_out) recovered labels, or None when the attack does not recover them.
    scale_known:
        whether inputs (and targets) carry their true scale.
    widths:
        the network widths [n, h1, ..., d_out] the attack used or recovered, if known.
    queries:
        the number of weight vectors the oracle evaluated.
    metadata:
        anything else worth keeping (attack name, parameters, per-sample residuals...);
        must be JSON-serialisable.
    """

    inputs: np.ndarray
    targets: np.ndarray | None = None
    scale_known: bool = False
    widths: list[int] | None = None
    queries: int = 0
    metadata: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.inputs = np.asarray(self.inputs, dtype=np.float64)
        if self.inputs.ndim != 2:
            raise ConfigurationError(f"inputs must be 2-D (M, n), got shape {self.inputs.shape}")
        if self.targets is not None:
            self.targets = np.asarray(self.targets, dtype=np.float64)
            if self.targets.ndim != 2 or len(self.targets) != len(self.inputs):
                raise ConfigurationError(
                    f"targets must have shape ({len(self.inputs)}, d_out), got {self.targets.shape}"
                )
        if self.widths is not None:
            self.widths = [int(w) for w in self.widths]

    @property
    def n_samples(self) -> int:
        return self.inputs.shape[0]

    def save(self, path: str | Path) -> Path:
        """Write a .npz file (arrays, plus the rest as JSON inside it); returns the path."""
        path = Path(path)
        header = {
            "format": _FORMAT,
            "scale_known": self.scale_known,
            "widths": self.widths,
            "queries": int(self.queries),
            "metadata": self.metadata,
        }
        arrays = {"inputs": self.inputs, "header": np.array(json.dumps(header))}
        if self.targets is not None:
            arrays["targets"] = self.targets
        with path.open("wb") as handle:
            np.savez_compressed(handle, **arrays)
        return path

    @classmethod
    def load(cls, path: str | Path) -> Reconstruction:
        """Read a file written by :meth:`save`."""
        with np.load(Path(path), allow_pickle=False) as data:
            if "header" not in data or "inputs" not in data:
                raise ConfigurationError(f"{path} is not a lossrecon reconstruction file")
            header = json.loads(str(data["header"]))
            if header.get("format") != _FORMAT:
                raise ConfigurationError(
                    f"{path} has format {header.get('format')!r}, expected {_FORMAT!r}"
                )
            return cls(
                inputs=data["inputs"],
                targets=data.get("targets", None),
                scale_known=bool(header["scale_known"]),
                widths=header["widths"],
                queries=int(header["queries"]),
                metadata=header["metadata"],
            )

"""The result of an attack: recovered inputs (and labels), with how they were obtained."""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, ClassVar, Literal

import numpy as np

from lossrecon.errors import ConfigurationError

__all__ = ["Reconstruction", "RunStats"]

_FORMAT = "lossrecon.Reconstruction/2"
_OLD_FORMAT = "lossrecon.Reconstruction/1"

Stopped = Literal["budget", "oracle", "unreadable"]


@dataclass
class RunStats:
    """What one attack run did: the same typed fields for every attack, None (or empty)
    where a field does not apply to it.

    Run: ``attack`` ("chosen_weights", "blind", "loss_matching"); ``method`` (chosen
    weights: "gates" or "hat"); what it read of the target: ``loss``, ``dtype`` (the
    client's arithmetic) and ``reduction``; ``stopped`` — None when
    the run finished, else why it returned early with what it had: "budget" (queries or
    wall time spent), "oracle" (the oracle failed: a lost client, a crash) or
    "unreadable" (noise, rounding or a smooth activation hide the kinks); ``warnings``,
    every warning the run emitted; ``queries_by_phase``.

    Chosen weights: ``passes``. Blind: ``complete`` (the directions found explain the
    loss), ``fit_residual``, ``layout_alternatives``, and counts of ``kinks`` read,
    ``unexplained_kinks``, ``rows_read``, ``architecture_lines``, ``base_points``.
    ``weight_decay``: the regularizer strength fitted, where the attack fits it.
    Loss matching: ``relative_misfit``.

    ``checks_failed``: samples read but left out because their check failed; ``grid`` and
    ``target_grid``: the steps the inputs and the labels were snapped to (``snap=True``),
    None when they lie on none. ``pack_grid``: [step, low, high] of the grid the gated
    reading packed coordinates on (values step q, q in [low, high]);
    ``pack_feature_grids``: instead, an affine grid per feature (standardized data),
    {"steps", "offsets", "low", "high"} (values offsets_k + steps_k q); ``bits_limit``: the
    fewest queries any attack could read the data in, its bits over the bits one answer
    carries (the mantissa of the client's format).

    Per recovered sample (arrays of length M', in the order of ``inputs``):
    ``residuals`` (the consistency check each passed), ``input_error_bounds`` (shape
    (M', n): a bound on the error of every input number, from the format and the
    measured noise of the answers), ``target_error_bounds`` (shape (M', d), the same
    for the labels), ``packed`` (the share of its coordinates read several to an answer),
    ``multiplicity`` (how many
    training samples share the input, where biases make it visible),
    ``kinks_per_sample`` and ``oriented`` (blind).
    """

    attack: str = ""
    method: str | None = None
    loss: str | None = None
    dtype: str | None = None
    reduction: str | None = None
    stopped: Stopped | None = None
    warnings: list[str] = field(default_factory=list)
    queries_by_phase: dict[str, int] = field(default_factory=dict)
    passes: int | None = None
    complete: bool | None = None
    fit_residual: float | None = None
    layout_alternatives: list[list[int]] = field(default_factory=list)
    kinks: int | None = None
    unexplained_kinks: int | None = None
    rows_read: int | None = None
    architecture_lines: int | None = None
    base_points: int | None = None
    weight_decay: float | None = None
    relative_misfit: float | None = None
    checks_failed: int | None = None
    grid: float | None = None
    target_grid: float | None = None
    pack_grid: list[float] | None = None
    pack_feature_grids: dict[str, Any] | None = None
    bits_limit: float | None = None
    residuals: np.ndarray | None = None
    input_error_bounds: np.ndarray | None = None
    target_error_bounds: np.ndarray | None = None
    packed: np.ndarray | None = None
    multiplicity: np.ndarray | None = None
    kinks_per_sample: np.ndarray | None = None
    oriented: np.ndarray | None = None

    _PER_SAMPLE: ClassVar[tuple[str, ...]] = (
        "residuals",
        "input_error_bounds",
        "target_error_bounds",
        "packed",
        "multiplicity",
        "kinks_per_sample",
        "oriented",
    )

    def __post_init__(self) -> None:
        for name in self._PER_SAMPLE:
            value = getattr(self, name)
            if value is not None:
                setattr(self, name, np.asarray(value))

    def stop_note(self) -> str | None:
        """Why the run stopped early, as its warning says it (None when it did not)."""
        if self.stopped is None:
            return None
        return next((w for w in self.warnings if "stopped early" in w), self.stopped)

    def to_json(self) -> dict[str, Any]:
        """A JSON-serialisable dict (arrays as lists)."""
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            out[f.name] = value.tolist() if isinstance(value, np.ndarray) else value
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RunStats:
        """The inverse of :meth:`to_json`; unknown keys are refused by name."""
        names = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - names)
        if unknown:
            raise ConfigurationError(f"unknown run statistics {unknown}")
        return cls(**data)

    @classmethod
    def from_metadata(cls, metadata: dict[str, Any]) -> RunStats:
        """The statistics of a format-1 file, whose attacks wrote free-form keys."""
        renamed = {"unexplained": "unexplained_kinks"}
        names = {f.name for f in fields(cls)}
        values: dict[str, Any] = {"queries_by_phase": {}}
        for key, value in metadata.items():
            if key.startswith("queries_"):
                values["queries_by_phase"][key.removeprefix("queries_")] = value
            elif renamed.get(key, key) in names:
                values[renamed.get(key, key)] = value
        return cls(**values)


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
    stats:
        what the run did (:class:`RunStats`): why it stopped, its warnings, per-sample
        checks.
    """

    inputs: np.ndarray
    targets: np.ndarray | None = None
    scale_known: bool = False
    widths: list[int] | None = None
    queries: int = 0
    stats: RunStats = field(default_factory=RunStats)

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
            "stats": self.stats.to_json(),
        }
        arrays: dict[str, Any] = {"inputs": self.inputs, "header": np.array(json.dumps(header))}
        if self.targets is not None:
            arrays["targets"] = self.targets
        with path.open("wb") as handle:
            np.savez_compressed(handle, **arrays)
        return path

    @classmethod
    def load(cls, path: str | Path) -> Reconstruction:
        """Read a file written by :meth:`save` (this version, or format 1's free-form
        metadata, read into :class:`RunStats`); any other format is refused."""
        with np.load(Path(path), allow_pickle=False) as data:
            if "header" not in data or "inputs" not in data:
                raise ConfigurationError(f"{path} is not a lossrecon reconstruction file")
            header = json.loads(str(data["header"]))
            if header.get("format") == _FORMAT:
                stats = RunStats.from_json(header["stats"])
            elif header.get("format") == _OLD_FORMAT:
                stats = RunStats.from_metadata(header["metadata"])
            else:
                raise ConfigurationError(
                    f"{path} has format {header.get('format')!r}, expected {_FORMAT!r}"
                )
            return cls(
                inputs=data["inputs"],
                targets=data.get("targets", None),
                scale_known=bool(header["scale_known"]),
                widths=header["widths"],
                queries=int(header["queries"]),
                stats=stats,
            )

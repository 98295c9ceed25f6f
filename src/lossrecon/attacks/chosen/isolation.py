"""The seam between isolating samples and reading them.

An :class:`Isolation` finds windows that hold one sample each (:meth:`Isolation.isolate`)
and hands them to a readout as an :class:`Isolated` value; the readout gives back a
:class:`Reading`. Isolation then mends what failed its checks (:meth:`Isolation.mend`:
re-counted, re-charted, read again through the same readout, which it calls without
knowing what it reads) and turns the reading into the client's units
(:meth:`Isolation.finish`). A readout never learns how a sample was isolated: it asks
through the windows it was handed.

Two isolations exist: the biased chart (:mod:`~lossrecon.attacks.chosen.chart`), whose
shares count samples, and the homogeneous one for bias-free networks
(:mod:`~lossrecon.attacks.chosen.homogeneous`), whose shares weigh them.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, fields
from typing import NamedTuple

import numpy as np

from lossrecon.attacks.chosen.client import Client
from lossrecon.attacks.chosen.packing import PackGrid
from lossrecon.attacks.chosen.windows import Directions, Window
from lossrecon.precision import in_format

__all__ = ["Isolated", "Isolation", "Reading", "Readout", "Scaled"]


@dataclass
class Isolated:
    """K windows that each hold one sample, or duplicates: their multiplicities
    ``count``, loss factors ``weight`` (c κ; bias-free κ t², t = u0·a) and the factors'
    errors (K,), one sample's share of a count pair ``unit``, the loss's factor
    ``kappa`` (its smallest window's, bias-free), the directions the windows are cut
    along, and the windows of every sample (``whole``: their shares are the whole
    loss's)."""

    windows: list[Window]
    count: np.ndarray
    weight: np.ndarray
    weight_error: np.ndarray
    unit: float
    kappa: float
    directions: Directions
    whole: list[Window] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.windows)

    @property
    def depth(self) -> int:
        """The most directions a window is cut along (its gate takes two rows each)."""
        return max(len(w.dirs) for w in self.windows)

    def bounds(self) -> np.ndarray:
        """What each window's first interval bounds |w·a| by (K,)."""
        return np.array([max(abs(w.lo[0]), abs(w.hi[0])) for w in self.windows])

    def holds(self, client: Client, inputs: np.ndarray, errors: np.ndarray) -> np.ndarray:
        """Whether each input read (K, n) projects into its window, with the client's
        rounding of the rows and the inputs' error bounds (K, n)."""
        ok = np.ones(len(self.windows), dtype=bool)
        for i, w in enumerate(self.windows):
            for direction, lo, hi in zip(w.dirs, w.lo, w.hi, strict=True):
                scale = self.directions.spans[direction]
                row = in_format(self.directions.vectors[direction] / scale, client.dtype)
                t = float(row @ inputs[i]) * scale
                slack = 64.0 * client.roundoff * scale + float(np.linalg.norm(errors[i])) * 4.0
                ok[i] &= lo - slack <= t <= hi + slack
        return ok


@dataclass
class Reading:
    """What one pass read of K isolated windows (bias-free: in the anchor's units):
    inputs and their bounds (K, n), labels and theirs (K, d), each window's
    multiplicity, loss factor and the factor's relative error (K,), whether each passed
    every check (K,), whether its check showed it held more than one sample (K,:
    bias-free, charted again), the share of its coordinates read packed (K,), and the
    grids the inputs and (squared loss) the labels were read packed on."""

    windows: list[Window]
    inputs: np.ndarray
    errors: np.ndarray
    labels: np.ndarray
    label_bounds: np.ndarray
    count: np.ndarray
    weight: np.ndarray
    relative: np.ndarray
    ok: np.ndarray
    shared: np.ndarray
    packed: np.ndarray
    grid: PackGrid | None = None
    label_grid: PackGrid | None = None

    def subset(self, keep: np.ndarray) -> Reading:
        chosen = [w for w, k in zip(self.windows, keep, strict=True) if k]
        arrays = {name: getattr(self, name)[keep] for name in _ARRAYS}
        return Reading(chosen, **arrays, grid=self.grid, label_grid=self.label_grid)

    @staticmethod
    def joined(parts: list[Reading]) -> Reading:
        """The parts one after the other, with the first's grids."""
        windows = [w for part in parts for w in part.windows]
        arrays = {name: np.concatenate([getattr(p, name) for p in parts]) for name in _ARRAYS}
        first = parts[0]
        return Reading(windows, **arrays, grid=first.grid, label_grid=first.label_grid)


_ARRAYS = tuple(f.name for f in fields(Reading) if f.name not in ("windows", "grid", "label_grid"))

# What a readout is to isolation: isolated windows in, their reading out (``pack``:
# several numbers a query where the data allow).
Readout = Callable[[Isolated, bool], Reading]


class Scaled(NamedTuple):
    """A reading in the client's units, the loss's factor κ, the reduction that set the
    scale (None where the answers gave it) and whether that scale is known."""

    reading: Reading
    kappa: float
    reduction: str | None
    scale_known: bool


class Isolation(ABC):
    """Finds windows of one sample each, mends the failures, scales the reading."""

    @abstractmethod
    def isolate(self) -> Isolated | None:
        """Windows of one sample each (None when no sample's share shows)."""

    @abstractmethod
    def verify(self, isolated: Isolated, reading: Reading) -> Reading:
        """``reading`` with what isolation alone can check (a window held just the
        sample read from it) in its ``ok`` and ``shared``."""

    @abstractmethod
    def mend(self, reading: Reading, read: Readout) -> Iterator[Reading]:
        """Better readings, one after the other, with the windows that failed their
        checks isolated again and read through ``read``; each one holds every sample of
        the one before that passed."""

    @abstractmethod
    def finish(self, first: Isolated, reading: Reading) -> Scaled:
        """The reading in the client's units (``first``: what :meth:`isolate` gave)."""

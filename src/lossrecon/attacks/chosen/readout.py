"""The readout of an MLP's isolated samples: their labels, then their input coordinates.

What it reads through the windows it is handed: labels (:mod:`.labels`), a norm query
and every coordinate (:mod:`.coordinates`), then each sample's check (:mod:`.checks`).
A packed sample that fails, or whose norm query is not reproduced once its values are
put on the grid, is read again one coordinate a query (a value past the
levels the first samples showed carries into the next digit and still decodes); where
the answers are noisy, a sample whose bound is too wide is read again and averaged.
"""

from __future__ import annotations

import numpy as np

from lossrecon.attacks.chosen.checks import CONFIDENT, confident, norm_check
from lossrecon.attacks.chosen.client import NOISE_READS
from lossrecon.attacks.chosen.coordinates import CoordinateReader
from lossrecon.attacks.chosen.isolation import Isolated, Reading
from lossrecon.attacks.chosen.labels import read_labels
from lossrecon.attacks.chosen.queries import GatedQueries
from lossrecon.attacks.chosen.values import ValueReader

__all__ = ["InputReadout"]


class InputReadout:
    """Reads labels and inputs (K, n) of isolated samples through ``queries``."""

    def __init__(self, queries: GatedQueries, rng: np.random.Generator) -> None:
        self.queries = queries
        self.client = queries.client
        self.rng = rng

    def __call__(self, isolated: Isolated, pack: bool) -> Reading:
        """Labels and inputs of the samples ``isolated`` holds, with their error bounds
        and whether each passed its check (``pack``: several numbers a query where the
        first samples show a grid)."""
        client = self.client
        labels = read_labels(self.queries, isolated, pack)
        values = ValueReader(self.queries, isolated, labels.column, labels.first_output)
        reader = CoordinateReader(self.queries, isolated, values, self.rng, pack)
        inputs, errors = reader.read()

        def checked() -> np.ndarray:
            return confident(client, isolated, reader.norms, labels.ok, inputs, errors)

        ok = checked()
        packed = reader.packed > 0
        failed = ~ok & packed
        if reader.grid is not None and np.any(packed & ok):
            tight = norm_check(client, reader.norms, *reader.grid.snapped(inputs, errors))
            failed |= ~tight & packed
        carried = np.flatnonzero(failed)
        if len(carried):
            reader.reread(carried, inputs, errors, "unpacked")
            reader.packed[carried] = 0.0
            ok = checked()
        # Noisy answers: a sample whose bound is too wide, or that failed its check, is
        # read again as many times as its bound asks for (at most NOISE_READS).
        weak = np.flatnonzero(~ok & np.all(np.isfinite(inputs), axis=1))
        if client.answers.noisy and len(weak):
            norm = np.linalg.norm(inputs[weak], axis=1)
            ratio = np.linalg.norm(errors[weak], axis=1) / (0.8 * CONFIDENT * norm)
            times = np.clip(np.ceil(ratio**2) - 1.0, 1.0, NOISE_READS)
            reader.repeat(weak, times, inputs, errors)
            ok = checked()
        k = len(isolated)
        relative = isolated.weight_error / isolated.weight
        return Reading(
            isolated.windows,
            inputs,
            errors,
            labels.values,
            labels.bounds,
            isolated.count,
            isolated.weight,
            relative,
            ok,
            np.zeros(k, dtype=bool),
            reader.packed,
            reader.grid,
            labels.grid,
        )

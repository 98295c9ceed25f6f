"""Reading the input coordinates of isolated samples: one a query, or several packed.

Each coordinate is read as u = 1 + a_k / R with R a bound on −a_k: a coordinate past the
bound gives u < 0, y = 0, no share at all, and is read again with a larger bound. A norm
estimate (random rows) sizes R at first, and is kept for the sample's check. Quantized
inputs are read several coordinates a query once the first samples show their grid
(:mod:`lossrecon.attacks.chosen.packing`).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import numpy as np

from lossrecon.attacks.chosen import packing
from lossrecon.attacks.chosen.isolation import Isolated
from lossrecon.attacks.chosen.packing import PackGrid
from lossrecon.attacks.chosen.queries import GatedQueries
from lossrecon.attacks.chosen.values import ValueReader

__all__ = ["LEAST_SHARE", "CoordinateReader", "Norms"]

LEAST_SHARE = 1e-3  # the smallest bound R on -a_k, relative to the sample's norm
_NORM_ROWS = 30  # random rows at most in a norm query
_RETRIES = 6  # readings of a coordinate past its bound, each with an 8x larger bound
_PILOT = 2  # samples read one coordinate a query, before a grid is looked for
_PILOT_MORE = 16  # samples read so in all, before the grid is given up


@dataclass
class Norms:
    """The norm query: its random rows (J, n), their weight into the unit, the scale
    it was read at, and what each sample gave (u and its bound, (K,); NaN where the
    sample was not asked)."""

    rows: np.ndarray
    mix: float
    scale: float
    u: np.ndarray
    du: np.ndarray


def _terms(gamma: np.ndarray, u: np.ndarray) -> np.ndarray:
    """The magnitudes of a packed u's terms added up: γ's and the weighted coordinates'."""
    return np.abs(gamma) + np.abs(u - gamma)


class CoordinateReader:
    """The inputs of the samples ``isolated`` holds, read through ``values``."""

    def __init__(
        self,
        queries: GatedQueries,
        isolated: Isolated,
        values: ValueReader,
        rng: np.random.Generator,
        pack: bool,
    ) -> None:
        self.queries = queries
        self.client = queries.client
        self.isolated = isolated
        self.values = values
        self.rng = rng
        self.pack = pack
        self.n = queries.n
        k = len(isolated)
        # A sample's scale: its norm, or what its first window bounds |w·a| by where the
        # norm query saw nothing.
        self.scale = isolated.bounds()
        self.read_shares = [(1.0, 1.0)] * self.n
        self.packed = np.zeros(k)
        self.grid: PackGrid | None = None
        self.norms = self._norm_query()

    def _norm_query(self) -> Norms:
        depth = self.isolated.depth
        j = min(_NORM_ROWS, self.queries.router.rows - 2 * depth)
        rows = self.rng.normal(size=(j, self.n))
        scale = self.queries.directions.widest() * np.sqrt(self.n)
        k = len(self.isolated)
        return Norms(rows, 1.0 / (j * scale), scale, np.full(k, np.nan), np.full(k, np.nan))

    def read_norms(self, samples: np.ndarray) -> np.ndarray:
        """A rough ||a|| for the samples (indices into the windows): the mean of relu(r·a)
        over random rows r, the same for every sample (kept for the check)."""
        norms = self.norms
        j = len(norms.rows)
        extra = np.tile(norms.rows, (len(samples), 1, 1))
        mix = np.full((len(samples), j), norms.mix)
        u_scale = 1.0 / np.sqrt(2.0 * np.pi * self.n)
        zero = np.zeros(len(samples))
        u, du = self.values.read(samples, extra, mix, zero, u_scale, "norms")
        norms.u[samples], norms.du[samples] = u, du
        return np.sqrt(2.0 * np.pi) * u * norms.scale

    def read(self) -> tuple[np.ndarray, np.ndarray]:
        """Every coordinate as u = 1 + a_k / R, re-read with a larger R past the bound.

        R = share * scale: at first what a dense vector's coordinates need, then 1.2 times
        the most negative coordinate seen so far (relative to its sample's scale): data
        that are never negative (images) are read with R near 0, at full relative
        precision, and the first coordinate is read again at the R the others found. u
        then reaches 1 + a_k / R, bounded by the largest coordinate seen so far (the norm
        at first): where the format's range is what limits the output scale (float16),
        that bound sets it, and a squared loss, whose share goes as u², keeps u within a
        factor 9 of 1 (R at least an eighth of that coordinate). The outputs are powers
        of two; 1/R is rounded by the client, and that rounding is in the error bound.
        """
        k = len(self.isolated)
        scale = self.scale

        def measured(rows: np.ndarray) -> None:
            norms = self.read_norms(rows)
            scale[rows] = np.where(norms > 0, norms, scale[rows])

        squeezed = self.client.loss == "squared" and self.client.range_limited(
            self.isolated.kappa, LEAST_SHARE
        )
        inputs = np.zeros((k, self.n))
        errors = np.zeros((k, self.n))

        def bounds(upto: int, rows: np.ndarray) -> tuple[float, float]:
            """(share, top) from the coordinates of ``rows`` read so far (the first's
            while none was read, or none could be)."""
            seen = inputs[rows, :upto] / scale[rows, None]
            if not np.isfinite(seen).any():
                return min(1.0, 4.0 / np.sqrt(self.n)), 1.0
            top = min(1.0, max(1.2 * np.nanmax(seen), LEAST_SHARE))
            least = top / 8.0 if squeezed else LEAST_SHARE
            return min(1.0, max(-1.2 * np.nanmin(seen), least)), top

        def one_by_one(rows: np.ndarray) -> None:
            first = bounds(0, rows)[0]
            for coordinate in range(self.n):
                share, top = bounds(coordinate, rows)
                self.read_shares[coordinate] = (share, top)
                self.coordinate(coordinate, *self.radii(coordinate), inputs, errors, rows=rows)
            share, top = bounds(self.n, rows)
            if self.n > 1 and share < first / 4.0:
                self.read_shares[0] = (share, top)
                self.coordinate(0, *self.radii(0), inputs, errors, "again", rows)

        everyone = np.arange(k)
        pilot = everyone[:_PILOT] if self.pack else everyone
        measured(pilot)
        one_by_one(pilot)
        self.grid = packing.pack_grid(inputs[pilot], errors[pilot]) if self.pack else None
        if self.pack and self.grid is None and k > len(pilot):  # more before giving up
            more = everyone[len(pilot) : _PILOT_MORE]
            measured(more)
            one_by_one(more)
            pilot = everyone[: len(pilot) + len(more)]
            self.grid = packing.pack_grid(inputs[pilot], errors[pilot], per_feature=True)
        rest = everyone[len(pilot) :]
        if not len(rest):
            return inputs, errors
        # Every sample's norm query, packed or not: garbage can decode to integers (a
        # window that held two samples), and the norm query is what it fails.
        measured(rest)
        if self.grid is None:
            one_by_one(rest)
        else:
            self.read_packed(rest, self.grid, inputs, errors)
        return inputs, errors

    def radii(self, coordinate: int) -> tuple[np.ndarray, np.ndarray]:
        """R and the bound on a_k (K,) a coordinate was read with: its shares of each
        sample's scale."""
        share, top = self.read_shares[coordinate]
        return share * self.scale, top * self.scale

    def read_packed(
        self, rows: np.ndarray, grid: PackGrid, inputs: np.ndarray, errors: np.ndarray
    ) -> None:
        """Read the coordinates of ``rows`` P at a time, packed on ``grid``; a value that
        does not decode is read again on its own, with the bounds the first samples set."""
        client = self.client
        room = (self.queries.router.rows - 2 * self.isolated.depth) // 2
        relative_error = client.answer_error + 2.0 * client.roundoff
        count = packing.per_query(grid.levels, relative_error, room)
        seen, grid = grid, packing.widened(grid, count, relative_error)
        groups = [np.arange(start, min(start + count, self.n)) for start in range(0, self.n, count)]
        # Every group of every sample in one batch (a Flower server asks it in as few
        # rounds as its queries a round allow), as many groups a batch as memory allows.
        per_batch = max(1, self.queries.block // max(len(rows), 1))
        for start in range(0, len(groups), per_batch):
            batch = groups[start : start + per_batch]
            u, du = self._read_groups(rows, batch, grid, seen, count)
            for g, coordinates in enumerate(batch):
                at = slice(g * len(rows), (g + 1) * len(rows))
                values, bounds, ok = packing.decode(u[at], du[at], grid, coordinates)
                good, bad = rows[ok], rows[~ok]
                inputs[np.ix_(good, coordinates)] = values[ok]
                errors[np.ix_(good, coordinates)] = bounds[ok]
                self.packed[good] += len(coordinates) / self.n
                for coordinate in coordinates.tolist() if len(bad) else ():
                    self.coordinate(
                        coordinate, *self.radii(coordinate), inputs, errors, "unpacked", bad
                    )

    def _read_groups(
        self,
        rows: np.ndarray,
        groups: list[np.ndarray],
        grid: PackGrid,
        seen: PackGrid,
        count: int,
    ) -> tuple[np.ndarray, np.ndarray]:
        """u and its bound for every group of coordinates of every sample ``rows``,
        group-major, each group packed on ``grid`` (``seen``: the levels the first samples
        showed) and padded to ``count`` coordinates."""
        k = len(rows)
        extra = np.zeros((len(groups) * k, 2 * count, self.n))
        mix = np.zeros((len(groups) * k, 2 * count))
        gamma, u_scale, u_max = (np.zeros(len(groups) * k) for _ in range(3))
        for g, coordinates in enumerate(groups):
            p, at = len(coordinates), slice(g * k, (g + 1) * k)
            omega, gamma[at] = packing.weights(grid, coordinates)
            extra[at, 2 * np.arange(p), coordinates] = 1.0
            extra[at, 2 * np.arange(p) + 1, coordinates] = -1.0
            mix[at, : 2 * p] = np.repeat(omega, 2) * np.tile([1.0, -1.0], p)
            # The output scale is set for the u the levels seen give; the widened ones
            # above them may reach the top.
            u_scale[at] = float(seen.high - grid.low + 1) * float(grid.levels) ** (p - 1) / 2.0
            u_max[at] = float(grid.levels) ** p
        return self.values.read(
            np.tile(rows, len(groups)),
            extra,
            mix,
            gamma,
            u_scale,
            "packed",
            u_max=u_max,
            terms=partial(_terms, gamma),
        )

    def reread(self, rows: np.ndarray, inputs: np.ndarray, errors: np.ndarray, phase: str) -> None:
        """Every coordinate of the samples ``rows`` again, one a query, with the bounds
        the first reading set."""
        for coordinate in range(self.n):
            least, top = self.radii(coordinate)
            self.coordinate(coordinate, least, top, inputs, errors, phase, rows)

    def repeat(
        self, rows: np.ndarray, times: np.ndarray, inputs: np.ndarray, errors: np.ndarray
    ) -> None:
        """Read the samples ``rows`` ``times`` (len(rows),) times more, every coordinate,
        and average: the answers' noise, not their rounding, shrinks as 1/sqrt(reads)."""
        answers = self.client.answers
        floor = answers.rounding / answers.error
        total = inputs[rows].copy()
        for r in range(1, int(times.max()) + 1):
            again = rows[times >= r]
            more, spread = np.zeros_like(inputs), np.zeros_like(errors)
            self.reread(again, more, spread, "noise")
            total[times >= r] += more[again]
        reads = times + 1.0
        inputs[rows] = total / reads[:, None]
        errors[rows] *= np.maximum(1.0 / np.sqrt(reads), floor)[:, None]

    def coordinate(
        self,
        coordinate: int,
        least: np.ndarray,
        top: np.ndarray,
        inputs: np.ndarray,
        errors: np.ndarray,
        phase: str = "",
        rows: np.ndarray | None = None,
    ) -> None:
        """Read coordinate k of every sample (or of ``rows``) into ``inputs`` and
        ``errors`` (K, n) as u = 1 + a_k / R, R = ``least`` (K,) at first,
        multiplied by 8 and read again for a sample whose coordinate is past it; ``top``
        (K,) bounds a_k. ``phase`` names a reading after the first."""
        todo = np.arange(len(self.isolated)) if rows is None else rows
        radius = np.array(least, dtype=float)
        e = np.zeros(self.n)
        e[coordinate] = 1.0
        for attempt in range(_RETRIES):
            if not len(todo):
                break
            extra = np.tile(np.stack([e, -e]), (len(todo), 1, 1))
            alpha = 1.0 / radius[todo]
            if phase in ("noise", "unpacked"):
                name = f"coordinates ({phase})"
            else:
                name = "coordinates again" if attempt or phase else "coordinates"
            u, du = self.values.read(
                todo,
                extra,
                np.stack([alpha, -alpha], axis=1),
                np.ones(len(todo)),
                1.0,
                name,
                u_max=1.0 + top[todo] / radius[todo],
                terms=lambda u: 1.0 + np.abs(u - 1.0),
            )
            past = u < 1e-3
            good = todo[~past]
            inputs[good, coordinate] = (u[~past] - 1.0) * radius[good]
            errors[good, coordinate] = du[~past] * radius[good]
            todo = todo[past]
            radius[todo] *= 8.0
        if len(todo):
            inputs[todo, coordinate] = np.nan

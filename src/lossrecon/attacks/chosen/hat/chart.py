"""The hat's chart: kinks along two lines, one per sample, and what they estimate.

Route one unit, first-layer row P + tQ, to the output and read the loss along t (two
lines, P + tQ and Q + tP, so every sample's hyperplane is met once with |t| <= 1). Each
kink is a sample: its position t_j is where (P + t_j Q) · a_j = 0, and the jumps of E'
and E'' estimate Q · a_j and v0 · b_j. From the second pass on, the shares of the
samples already known are subtracted, so only what is missing or wrong still bends the
loss.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lossrecon.attacks.chosen.hat.paths import Paths
from lossrecon.geometry import Kink, LineReading, read_line
from lossrecon.geometry.line_reader import CHART_SPAN

__all__ = [
    "Chart",
    "Known",
    "Samples",
    "chart_kinks",
    "chart_samples",
    "kink_estimates",
    "line_shares",
    "read_chart_line",
]

_PEEL_NOISE = 1e-9  # relative error assumed of a recovered sample's share of the loss
_SAME_KINK = 1e-9  # a kink this close to a known sample's hyperplane is that sample
# An upside-down sample leaves a kink without an E' jump, located only as a double root:
# it is matched to the nearest known hyperplane within this many mean spacings.
_NEAR_KINK = 2.0
_SIGNATURE = 0.1  # relative tolerance on the jumps of an upside-down sample's kink


@dataclass(frozen=True)
class Chart:
    """Two lines through the plane of P and Q: side 0 is P + tQ, side 1 is Q + tP."""

    p: np.ndarray
    q: np.ndarray

    def line(self, side: int) -> tuple[np.ndarray, np.ndarray]:
        return (self.p, self.q) if side == 0 else (self.q, self.p)

    def place(self, coords: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Side, position and Q_side · a of known inputs (k, n'), each with |t| <= 1."""
        pa, qa = coords @ self.p, coords @ self.q
        side = (np.abs(pa) > np.abs(qa)).astype(int)
        with np.errstate(divide="ignore", invalid="ignore"):
            position = np.where(side == 0, -pa / qa, -qa / pa)
        return side, np.nan_to_num(position), np.where(side == 0, qa, pa)


@dataclass
class Known:
    """Samples recovered so far, in augmented coordinates (bias last when present),
    their labels and residuals, the loss's factor κ their shares are weighed by, and the
    size of the loss along the first chart (the noise of later charts is set by it)."""

    coords: np.ndarray
    labels: np.ndarray
    residual: np.ndarray
    kappa: float
    loss_scale: float

    def add(self, coords: np.ndarray, labels: np.ndarray, residual: np.ndarray) -> None:
        self.coords = np.vstack([self.coords, coords])
        self.labels = np.vstack([self.labels, labels])
        self.residual = np.concatenate([self.residual, residual])

    def drop(self, wrong: np.ndarray) -> None:
        keep = np.ones(len(self.coords), dtype=bool)
        keep[wrong] = False
        self.coords, self.labels = self.coords[keep], self.labels[keep]
        self.residual = self.residual[keep]


@dataclass
class Samples:
    """Everything one pass knows about the samples' hyperplanes in its chart.

    ``side``, ``position`` (t_j on that side's line) and ``sigma`` (Q_side · a_j, signed)
    for every sample, measured or known; ``beta`` estimates v0 · b_j; ``measure`` marks
    the kinks this pass isolates (the others are known samples, kept as neighbours).
    """

    chart: Chart
    side: np.ndarray
    position: np.ndarray
    sigma: np.ndarray
    beta: np.ndarray
    measure: np.ndarray

    def __len__(self) -> int:
        return len(self.side)

    def on_side(self, side: int) -> tuple[np.ndarray, np.ndarray]:
        """Every sample's position and sigma seen on the given side's line."""
        same = self.side == side
        with np.errstate(divide="ignore"):
            flipped = np.where(self.position != 0, 1.0 / self.position, np.inf)
        position = np.where(same, self.position, flipped)
        sigma = np.where(same, self.sigma, -self.position * self.sigma)
        return position, sigma


def line_shares(
    paths: Paths,
    kappa: float,
    p: np.ndarray,
    q: np.ndarray,
    t: np.ndarray,
    coords: np.ndarray,
    labels: np.ndarray,
) -> np.ndarray:
    """Each sample's share of the loss along p + t q: an array (T, k)."""
    router = paths.router
    s = (coords @ p)[None, :] + t[:, None] * (coords @ q)[None, :]
    phi = router.gain * np.maximum(s, 0) + router.slope * s
    return kappa * (phi**2 - 2 * phi * (labels @ paths.v0)[None, :])


def read_chart_line(
    paths: Paths, chart: Chart, side: int, known: Known | None, notes: list[str]
) -> LineReading:
    """Read one chart line, minus the shares of every known sample."""
    p, q = chart.line(side)
    noise = None
    if known is not None and len(known.coords):
        grid = np.linspace(-CHART_SPAN, CHART_SPAN, 257)
        shares = line_shares(paths, known.kappa, p, q, grid, known.coords, known.labels)
        noise = 1e-13 * known.loss_scale + _PEEL_NOISE * float(np.abs(shares).sum(1).max())

    def along(t: np.ndarray) -> np.ndarray:
        losses = paths.ask(paths.line_weights(p, q, t), "chart")
        paths.report("chart")
        if known is not None and len(known.coords):
            shares = line_shares(paths, known.kappa, p, q, t, known.coords, known.labels)
            losses = losses - shares.sum(1)
        return losses

    reading = read_line(along, -CHART_SPAN, CHART_SPAN, noise=noise)
    if reading.noisy:
        notes.append(
            "the loss along a chart line never settles on quadratic pieces: noise, "
            "rounding or a smooth activation (a defense?) hides its kinks"
        )
    elif reading.unresolved:
        notes.append(
            f"{len(reading.unresolved)} stretches of a chart line held kinks too close "
            "together to separate; samples there may be missing"
        )
    return reading


def chart_kinks(readings: list[LineReading]) -> list[tuple[int, Kink]]:
    """The kinks of both lines whose hyperplane each line is the one to meet (|t| < 1;
    t = ±1 counts on side 0 only)."""
    return [
        (side, k)
        for side, reading in enumerate(readings)
        for k in reading.kinks
        if abs(k.t) < 1.0 or (side == 0 and abs(k.t) == 1.0)
    ]


def kink_estimates(
    paths: Paths, kappa: float, kinks: list[tuple[int, Kink]]
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Side, position, Q · a and v0 · b estimated from each kink's jumps."""
    router = paths.router
    side = np.array([s for s, _ in kinks], dtype=int)
    position = np.array([k.t for _, k in kinks])
    d1 = np.array([k.d1 for _, k in kinks])
    d2 = np.array([k.d2 for _, k in kinks])
    square = router.gain**2 + 2 * router.gain * router.slope
    sigma_abs = np.sqrt(np.abs(d2) / (2 * kappa * abs(square)))
    sigma = np.sign(d2) * np.sign(square) * sigma_abs
    with np.errstate(divide="ignore", invalid="ignore"):
        beta = np.nan_to_num(-d1 / (2 * kappa * router.gain * sigma_abs))
    return side, position, sigma, beta


def chart_samples(
    paths: Paths,
    chart: Chart,
    readings: list[LineReading],
    kinks: list[tuple[int, Kink]],
    known: Known,
) -> tuple[Samples, int]:
    """The pass's samples: its kinks (to measure) and the known samples (neighbours).

    A kink on a known sample's hyperplane means that sample was recovered wrong. If
    its input is upside down, the kink is exactly the difference of the two signs: E'
    does not jump and E'' jumps by -2 times the sample's own jump; the sample is then
    negated in place. Otherwise (a wrong input or label) it is dropped from ``known``
    and measured again from the kink. Either way the readings are corrected for the
    change, so that they show the loss minus the shares of ``known`` as it now is.
    Returns the samples and how many known samples were negated or dropped.
    """
    router, kappa = paths.router, known.kappa
    known_side, known_position, known_sigma = chart.place(known.coords)
    square = router.gain**2 + 2 * router.gain * router.slope
    own_d2 = 2 * kappa * square * np.sign(known_sigma) * known_sigma**2
    own_d1 = 2 * kappa * router.gain * np.abs(known_sigma * (known.labels @ paths.v0))
    spacing = 2 * CHART_SPAN / max(len(known.coords), 1)
    negate = np.zeros(len(known.coords), dtype=bool)
    drop = np.zeros(len(known.coords), dtype=bool)
    measure = []
    for kink_side, kink in kinks:
        distance = np.where(known_side == kink_side, np.abs(known_position - kink.t), np.inf)
        mismatch = np.abs(kink.d2 + 2 * own_d2) / np.maximum(np.abs(2 * own_d2), 1e-300)
        mismatch[(distance > _NEAR_KINK * spacing) | negate] = np.inf
        j = int(np.argmin(mismatch)) if len(mismatch) else -1
        if j >= 0 and mismatch[j] <= _SIGNATURE and abs(kink.d1) <= _SIGNATURE * own_d1[j]:
            negate[j] = True
            continue
        nearest = int(np.argmin(distance)) if len(distance) else -1
        if nearest >= 0 and distance[nearest] <= _SAME_KINK * (1 + abs(kink.t)):
            drop[nearest] = True
        measure.append((kink_side, kink))
    drop &= ~negate
    before = (known.coords.copy(), known.labels)
    known.coords[negate] *= -1
    _correct_readings(paths, kappa, chart, readings, before, (known.coords, known.labels), ~drop)
    known.drop(np.flatnonzero(drop))
    known_side, known_position, known_sigma = chart.place(known.coords)
    side, position, sigma, beta = kink_estimates(paths, kappa, measure)
    samples = Samples(
        chart,
        np.concatenate([side, known_side]),
        np.concatenate([position, known_position]),
        np.concatenate([sigma, known_sigma]),
        np.concatenate([beta, known.labels @ paths.v0]),
        np.concatenate([np.ones(len(side), bool), np.zeros(len(known_side), bool)]),
    )
    return samples, int(negate.sum() + drop.sum())


def _correct_readings(
    paths: Paths,
    kappa: float,
    chart: Chart,
    readings: list[LineReading],
    before: tuple[np.ndarray, np.ndarray],
    after: tuple[np.ndarray, np.ndarray],
    keep: np.ndarray,
) -> None:
    """Re-base readings taken with the shares of ``before`` subtracted onto ``after``
    restricted to ``keep`` (same rows; negated rows differ)."""
    changed = keep & np.any(before[0] != after[0], axis=1) | ~keep
    if not changed.any():
        return
    for side, reading in enumerate(readings):
        p, q = chart.line(side)
        b = before[0][changed], before[1][changed]
        old = line_shares(paths, kappa, p, q, reading.t, *b).sum(1)
        new_rows = changed & keep
        a = after[0][new_rows], after[1][new_rows]
        new = line_shares(paths, kappa, p, q, reading.t, *a).sum(1)
        reading.values = reading.values + old - new

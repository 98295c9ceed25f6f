"""Kinks of a continuous piecewise-quadratic function of one variable, from batched values.

Along a line in weight space the loss of a routed ReLU unit is such a function: a
quadratic between consecutive kinks, with a jump of f' and f'' at each. The reader
evaluates a grid, finds maximal runs of points that lie on one quadratic (third
differences vanish), and explains the gap between two runs by a single kink where the
two quadratics meet. Gaps that one kink cannot explain are refined with new points, all
of a round in one batch, until every gap is explained or too narrow to split.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import numpy as np

from lossrecon.errors import ConfigurationError

__all__ = ["CHART_SPAN", "Kink", "LineReading", "read_line"]

# A chart is two lines through the plane of P and Q, P + tQ and Q + tP: every sample's
# hyperplane meets one of them with |t| <= 1. Each is read on [-CHART_SPAN, CHART_SPAN],
# a margin beyond, so that a kink at |t| near 1 has quadratic pieces on both sides.
CHART_SPAN = 1.25

# A gap's two quadratics are fitted on at most this many points beyond the run's edge
# point: a weak kink hidden far inside a long run must not bend the fit at the gap.
_LOCAL = 4
# A rounded f comes in flat steps: more stairs (groups of equal neighbouring values)
# than this share of the points, and than _FEW_STAIRS, ends the reading as noisy. An
# exact loss has a few, one per stretch where every sample is dead and E is constant.
_TIES = 0.02
_FEW_STAIRS = 8
# A run of clean windows must also fit one quadratic within this many noise levels; a
# run is split into parts of at least _MIN_RUN points.
_RUN_FIT = 8.0
_MIN_RUN = 3
_SPLIT_TRIES = 3  # the worst windows of a bent run beside which a split is tried
# Witness points stand where a proposed kink bends f by this many times the noise level.
_VISIBLE = 60.0


@dataclass(frozen=True)
class Kink:
    """A kink at ``t``: f' jumps by ``d1`` and f'' by ``d2`` (right minus left)."""

    t: float
    d1: float
    d2: float


@dataclass
class LineReading:
    """What reading a line found.

    ``t`` and ``values`` hold every evaluated point, sorted; ``unresolved`` lists the
    intervals (lo, hi) where kinks lay too close together to separate; ``noisy`` says the
    values never settled on quadratics at any scale, or came in steps (noise or
    rounding, not kinks).
    """

    kinks: list[Kink]
    t: np.ndarray
    values: np.ndarray
    unresolved: list[tuple[float, float]] = field(default_factory=list)
    noisy: bool = False

    @property
    def evaluations(self) -> int:
        return len(self.t)

    def segments(self, lo: float, hi: float) -> Iterator[tuple[np.ndarray, float, float]]:
        """The kinks of [lo, hi] split at the unresolved stretches: (kinks, start, stop)
        for each stretch in which every kink between start and stop is listed."""
        kinks = np.array([k.t for k in self.kinks])
        cuts = [(lo, lo), *sorted(self.unresolved), (hi, hi)]
        for (_, start), (stop, _) in itertools.pairwise(cuts):
            inside = kinks[(kinks > start) & (kinks < stop)]
            if inside.size:
                yield inside, start, stop


def _window_residuals(t: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each 4-point window, how far point 4 is from the quadratic through points 1-3,
    and the factor by which that extrapolation amplifies noise in the values."""
    t0, t1, t2, t3 = t[:-3], t[1:-2], t[2:-1], t[3:]
    l0 = (t3 - t1) * (t3 - t2) / ((t0 - t1) * (t0 - t2))
    l1 = (t3 - t0) * (t3 - t2) / ((t1 - t0) * (t1 - t2))
    l2 = (t3 - t0) * (t3 - t1) / ((t2 - t0) * (t2 - t1))
    residual = y[3:] - (l0 * y[:-3] + l1 * y[1:-2] + l2 * y[2:-1])
    return residual, 1.0 + np.abs(l0) + np.abs(l1) + np.abs(l2)


def _runs(clean: np.ndarray) -> list[tuple[int, int]]:
    """Point ranges [first, last] covered by maximal stretches of clean windows."""
    runs = []
    start = None
    for i, ok in enumerate(clean):
        if ok and start is None:
            start = i
        if not ok and start is not None:
            runs.append((start, i - 1 + 3))
            start = None
    if start is not None:
        runs.append((start, len(clean) - 1 + 3))
    return runs


def _split_bent_runs(
    t: np.ndarray, y: np.ndarray, scaled: np.ndarray, runs: list[tuple[int, int]], tol: float
) -> list[tuple[int, int]]:
    """Runs that one quadratic fits as a whole, splitting those that bend at one point.

    Four-point windows see a kink only where it bends f by more than the noise over
    the window's width; where refinement has packed points tightly around a kink, every
    window can be clean and a run can cross the kink. Such a run is split beside its
    worst windows (``scaled`` residuals) if a quadratic then fits each side; a run that
    no single split mends (a smooth f that is not quadratic) is left as it is.
    """
    out: list[tuple[int, int]] = []
    for first, last in runs:
        if last - first + 1 < 2 * _MIN_RUN or _misfit(t, y, first, last) <= _RUN_FIT * tol:
            out.append((first, last))
            continue
        windows = np.arange(first, last - 2)
        worst = windows[np.argsort(-scaled[windows])[:_SPLIT_TRIES]]
        cuts = [c for w in worst for c in (w, w + 1, w + 2)]
        cut = next(
            (
                c
                for c in cuts
                if first + _MIN_RUN - 1 <= c <= last - _MIN_RUN
                and _misfit(t, y, first, c) <= _RUN_FIT * tol
                and _misfit(t, y, c + 1, last) <= _RUN_FIT * tol
            ),
            None,
        )
        out += [(first, last)] if cut is None else [(first, cut), (cut + 1, last)]
    return out


def _misfit(t: np.ndarray, y: np.ndarray, first: int, last: int) -> float:
    """Largest residual of the least-squares quadratic through points first..last."""
    part = slice(first, last + 1)
    quadratic = _Quadratic.fit(t[part], y[part])
    u = (t[part] - quadratic.center) / quadratic.scale
    return float(np.max(np.abs(np.vander(u, 3, increasing=True) @ quadratic.coef - y[part])))


@dataclass(frozen=True)
class _Quadratic:
    """c0 + c1 u + c2 u^2 in u = (t - center) / scale: a well-conditioned fit of a run."""

    center: float
    scale: float
    coef: np.ndarray

    @classmethod
    def fit(cls, t: np.ndarray, y: np.ndarray) -> _Quadratic:
        center = 0.5 * (t[0] + t[-1])
        scale = max(0.5 * (t[-1] - t[0]), np.finfo(float).tiny)
        u = (t - center) / scale
        coef = np.linalg.lstsq(np.vander(u, 3, increasing=True), y, rcond=None)[0]
        return cls(center, scale, coef)

    def derivatives(self, t: float) -> np.ndarray:
        """(f, f', f'') at t."""
        u = (t - self.center) / self.scale
        c0, c1, c2 = self.coef
        return np.array(
            [c0 + c1 * u + c2 * u * u, (c1 + 2 * c2 * u) / self.scale, 2 * c2 / self.scale**2]
        )


def _single_kink(
    left: _Quadratic,
    right: _Quadratic,
    lo: float,
    hi: float,
    interior_t: np.ndarray,
    interior_y: np.ndarray,
    tol: float,
) -> Kink | None:
    """The one kink in [lo, hi] that turns ``left`` into ``right``, if one explains the gap."""
    mid = 0.5 * (lo + hi)
    d0, d1, d2 = right.derivatives(mid) - left.derivatives(mid)
    width = max(hi - lo, np.finfo(float).tiny)
    if abs(d2) * width > 1e-12 * max(abs(d1), 1e-300):
        disc = d1 * d1 - 2.0 * d2 * d0
        # Where f' does not jump (a zero label) the root is double; f at the noise level
        # tol moves the discriminant by about 2 |d2| tol, so that much counts as zero.
        if abs(disc) <= 2.0 * abs(d2) * tol:
            disc = 0.0
        if disc < 0:
            return None
        root = np.sqrt(disc)
        q = -(d1 + np.copysign(root, d1))
        candidates = [q / d2] + ([2.0 * d0 / q] if q != 0 and disc > 0 else [])
    elif d1 != 0:
        candidates = [-d0 / d1]
    else:
        return None
    slack = 1e-9 * width
    inside = [u for u in candidates if lo - slack <= mid + u <= hi + slack]
    if len(inside) != 1:
        return None
    tau = mid + inside[0]
    for t, y in zip(interior_t, interior_y, strict=True):
        side = left if t < tau else right
        if abs(side.derivatives(t)[0] - y) > tol:
            return None
    jump1 = d1 + d2 * inside[0]
    return Kink(float(tau), float(jump1), float(d2))


def read_line(
    f: Callable[[np.ndarray], np.ndarray],
    lo: float,
    hi: float,
    *,
    initial_points: int = 129,
    rel_tol: float = 1e-13,
    noise: float | None = None,
    min_width: float | None = None,
    max_rounds: int = 60,
    max_points: int | None = 100_000,
) -> LineReading:
    """Find the kinks of a continuous piecewise-quadratic f on [lo, hi].

    ``f`` maps a 1-D array of positions to their values, one batch per round.
    ``rel_tol`` is the noise level relative to max |f| below which a point counts as on
    a quadratic, unless an absolute ``noise`` level is given; ``min_width`` (default
    1e-12 of the interval) is the narrowest gap that is still split; ``max_points`` caps
    the evaluations (then unexplained gaps are reported as unresolved): noise just above
    the tolerance leaves a few clean windows everywhere and would otherwise keep
    refining, with the batch and its memory doubling each round.
    """
    if max_rounds < 0:
        raise ConfigurationError(f"max_rounds must be nonnegative, got {max_rounds}")
    min_width = 1e-12 * (hi - lo) if min_width is None else min_width
    t = np.linspace(lo, hi, initial_points)
    y = np.asarray(f(t), dtype=float)
    kinks: list[Kink] = []
    unresolved: list[tuple[float, float]] = []
    misfit = np.inf
    noisy = False
    pending: list[tuple[float, float]] = [(float(lo), float(hi))]  # all, before any round
    for _ in range(max_rounds):
        order = np.argsort(t)
        t, y = t[order], y[order]
        tol = noise if noise is not None else rel_tol * max(np.max(np.abs(y)), 1e-300)
        residual, amplification = _window_residuals(t, y)
        scaled = np.abs(residual) / (tol * amplification)
        if np.ptp(y) > 1e3 * tol and _stairs(y) > max(_FEW_STAIRS, _TIES * len(y)):
            unresolved, noisy = [(float(lo), float(hi))], True
            break
        runs = _split_bent_runs(t, y, scaled, _runs(scaled <= 1.0), tol)
        if not runs:
            # Between kinks a finer grid shrinks the misfit like h^3; noise does not
            # shrink. A whole refinement round that leaves it as large means noise.
            if np.median(scaled) > 0.5 * misfit:
                unresolved, noisy = [(float(lo), float(hi))], True
                break
            misfit = float(np.median(scaled))
        found = _refine(t, y, runs, tol, (float(lo), float(hi)), min_width)
        kinks, pending, unresolved = found.kinks, found.pending, found.unresolved
        fresh = np.unique(np.concatenate(found.points)) if found.points else np.zeros(0)
        fresh = fresh[~np.isin(fresh, t)]
        if max_points is not None and fresh.size > max_points - len(t):
            unresolved.extend(pending)
            break
        if fresh.size == 0:
            break
        t = np.concatenate([t, fresh])
        y = np.concatenate([y, np.asarray(f(fresh), dtype=float)])
    else:
        unresolved.extend(pending)
    order = np.argsort(t)
    return LineReading(sorted(kinks, key=lambda k: k.t), t[order], y[order], unresolved, noisy)


@dataclass
class _Round:
    """What one round of reading found: kinks, the points to evaluate next with the gaps
    they are for (still unexplained), and gaps too narrow to split."""

    kinks: list[Kink] = field(default_factory=list)
    points: list[np.ndarray] = field(default_factory=list)
    pending: list[tuple[float, float]] = field(default_factory=list)
    unresolved: list[tuple[float, float]] = field(default_factory=list)

    def ask(self, points: np.ndarray, first: float, last: float) -> None:
        self.points.append(points)
        self.pending.append((float(first), float(last)))


def _refine(
    t: np.ndarray,
    y: np.ndarray,
    runs: list[tuple[int, int]],
    tol: float,
    ends: tuple[float, float],
    min_width: float,
) -> _Round:
    """The kinks between the runs of points on one quadratic each, and where to look
    next: inside the gaps before the first run, after the last, and between two runs
    that one kink does not explain (all of [lo, hi] = ``ends`` without runs)."""
    found = _Round()
    if not runs:
        found.ask(_subdivide(t), *ends)
        return found
    if runs[0][0] > 0:
        found.ask(_subdivide(t[: runs[0][0] + 1]), t[0], t[runs[0][0]])
    if runs[-1][1] < len(t) - 1:
        found.ask(_subdivide(t[runs[-1][1] :]), t[runs[-1][1]], t[-1])
    for left, right in itertools.pairwise(runs):
        _between(t, y, left, right, tol, min_width, found)
    return found


def _between(
    t: np.ndarray,
    y: np.ndarray,
    left: tuple[int, int],
    right: tuple[int, int],
    tol: float,
    min_width: float,
    found: _Round,
) -> None:
    """The gap between two runs: one kink, accepted once points beside it confirm it;
    else points to split it, or, narrower than ``min_width``, unresolved."""
    (a_left, b_left), (a_right, b_right) = left, right
    a_left, b_right = max(a_left, b_left - _LOCAL), min(b_right, a_right + _LOCAL)
    q_left = _Quadratic.fit(t[a_left : b_left + 1], y[a_left : b_left + 1])
    q_right = _Quadratic.fit(t[a_right : b_right + 1], y[a_right : b_right + 1])
    first, last = min(b_left, a_right), max(b_left, a_right)
    if first == last or a_right <= b_left:
        first, last = max(first - 1, a_left), min(last + 1, b_right)
    interior = slice(b_left + 1, a_right)
    kink = _single_kink(q_left, q_right, t[first], t[last], t[interior], y[interior], 4 * tol)
    witnesses = None if kink is None else _witnesses(kink, t[first], t[last], tol)
    if kink is not None and not _significant(kink, t[a_left], t[b_right], tol):
        return
    if kink is not None and witnesses is None:
        found.kinks.append(kink)
    elif witnesses is not None and t[last] - t[first] > min_width:
        found.ask(witnesses, t[first], t[last])
    elif t[last] - t[first] <= min_width:
        found.unresolved.append((float(t[first]), float(t[last])))
    elif kink is None:
        found.ask(_subdivide(t[first : last + 1]), t[first], t[last])


def _stairs(y: np.ndarray) -> int:
    """How many groups of two or more consecutive equal values y holds."""
    tied = np.diff(y) == 0
    return int(np.count_nonzero(tied[1:] & ~tied[:-1]) + (tied[0] if len(tied) else 0))


def _witness_distance(kink: Kink, tol: float) -> float:
    """How far from a kink a point must be for the kink to bend f by _VISIBLE * tol."""
    target = _VISIBLE * tol
    a, b = abs(kink.d1), 0.5 * abs(kink.d2)
    if b == 0.0:
        return target / a if a > 0 else np.inf
    return (-a + np.sqrt(a * a + 4.0 * b * target)) / (2.0 * b)


def _witnesses(kink: Kink, lo: float, hi: float, tol: float) -> np.ndarray | None:
    """Points to evaluate beside a proposed kink in the gap (lo, hi), or None to accept it.

    Two close kinks can pass for one kink somewhere else; points just beside it tell
    them apart, since between or beside a fake kink f follows neither quadratic. They
    stand where the kink bends f clearly above noise, so a window through them still
    sees it. Once the gap's ends are that close to the kink, it is accepted.
    """
    delta = _witness_distance(kink, tol)
    if max(kink.t - lo, hi - kink.t) <= 1.5 * delta:
        return None
    points = np.array([kink.t - delta, kink.t + delta])
    return points[(points > lo) & (points < hi)]


def _significant(kink: Kink, left_end: float, right_end: float, tol: float) -> bool:
    """Whether the kink bends f by clearly more than noise across the runs beside it.

    A smooth function read at a fine scale can leave two nearly equal quadratics side by
    side; a real kink bends f by far more than the noise over the runs' extent.
    """
    reach = max(kink.t - left_end, right_end - kink.t)
    return abs(kink.d1) * reach + 0.5 * abs(kink.d2) * reach**2 > 100.0 * tol


def _subdivide(t: np.ndarray) -> np.ndarray:
    """Three new points inside every interval of the sorted points t."""
    lo, hi = t[:-1], t[1:]
    return (lo[:, None] + (hi - lo)[:, None] * np.array([0.25, 0.5, 0.75])).ravel()

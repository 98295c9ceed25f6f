"""The normal of the nonsmooth locus at kinks on a line: the jump of the gradient of E.

On a line w(t) = base + t·direction that moves the weights of a single row of a single
layer, E is a continuous piecewise quadratic in t, and so it stays on every parallel line
base + s e_c + t·direction. On one piece, E is a polynomial that is quadratic in each single
weight (the network output is affine in each weight), so the central difference

    dE/dw_c = (E_piece(s = +delta) - E_piece(s = -delta)) / (2 delta)

is exact for any delta, provided both shifted lines are read on the same piece. At a kink
t_k the pieces on its left and right are fitted on the shifted lines (four points a gap,
the fourth checks that no kink has moved into them) and continued to t_k, which gives both
one-sided gradients there exactly. Their difference is the normal of the Sing(X)
hypersurface crossed at t_k (Prop. 2.12 of the paper, without the N + 1 nearby points),
scaled by the jump factor G of E_right - E_left = z·G.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable

import numpy as np

__all__ = ["gradient_jumps"]

# Where the four points of each gap sit, in u = (t - centre) / half-width of the gap. A
# kink that moves by less than _ROOM half-widths on a shifted line passes none of them.
_NODES = np.array([-0.7, -0.25, 0.25, 0.7])
_ROOM = 0.25
_FIT = np.linalg.pinv(np.vander(_NODES, 3, increasing=True)).T  # values (4,) -> coef (3,)
_END_GAIN = float(np.linalg.norm(_FIT @ np.ones(3)))  # noise gain from values to an end
_CHECK = np.linalg.svd(np.vander(_NODES, 3, increasing=True).T)[2][-1]  # third difference
# The first shift is this share of the median gap on the line, and at most _SMALL
# times the RMS weight: a larger one could reach a part of Sing(X) the line never meets.
_START = 0.05
_SMALL = 1e-3
_SHRINK = 20.0  # a coordinate whose shifted pieces fail the checks is retried this much closer
_TRIES = 4
_NOISE_MARGIN = 10.0  # the reader locates a kink to where it bends f this many noise levels
_CONFIRM = 8.0  # verification repeats each shift this much smaller
_AGREE = 10.0  # ... and wants the two jumps within this many estimated errors
_ROWS_PER_BATCH = 8192


def gradient_jumps(
    f: Callable[[np.ndarray], np.ndarray],
    base: np.ndarray,
    direction: np.ndarray,
    kinks: np.ndarray,
    lo: float,
    hi: float,
    coordinates: np.ndarray,
    *,
    rel_tol: float = 1e-11,
    verify: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """Jumps (right minus left) of dE/dw_c at each kink, for each coordinate c.

    f maps a (K, N) batch of weight vectors to losses; the line is base + t·direction
    (both (N,)), with every kink between lo and hi listed in ``kinks`` (sorted, (K,)).
    Returns the jumps (K, C) for ``coordinates`` (C,) and their estimated errors (K, C),
    from the scatter of the values about the fitted quadratics. On each shifted line the
    kink is located again (from the two pieces beside it) and must have moved less than a
    quarter of its gaps, so that no piece was read across it; where it moved further the
    coordinate is retried with a smaller shift. Two things no check on one reading sees:
    a shift can cross a part of Sing(X) that runs parallel to the line, and a kink too
    faint to be listed (its jump factor near 0) can lie between a kink and the points of
    its piece, where the shifted lines bend by a shift-sized amount. ``verify`` reads
    everything again with shifts and windows _CONFIRM times smaller and keeps only the
    jumps on which both readings agree (twice the queries).
    An entry stays NaN where nothing worked: a kink too faint to be listed lies in a gap,
    or kinks crowd too closely.
    """
    kinks = np.asarray(kinks, dtype=float)
    coordinates = np.asarray(coordinates, dtype=int)
    line = _ShiftedLine(f, base, direction, kinks, lo, hi, rel_tol)
    check = _ShiftedLine(f, base, direction, kinks, lo, hi, rel_tol, 1.0 / _CONFIRM)
    weight_scale = float(np.sqrt(np.mean(base**2))) or 1.0
    reach = line.half.min() * np.linalg.norm(direction)
    first = min(_START * 2 * reach, _SMALL * weight_scale)
    delta = np.full(len(coordinates), first)
    jumps = np.full((len(kinks), len(coordinates)), np.nan)
    errors = np.full_like(jumps, np.nan)
    todo = np.arange(len(coordinates))
    for _ in range(_TRIES):
        if not todo.size:
            break
        jump, error, good = line.jumps(coordinates[todo], delta[todo])
        if verify:
            again, error_again, good_again = check.jumps(coordinates[todo], delta[todo] / _CONFIRM)
            agree = np.abs(jump - again) <= _AGREE * (error + error_again)
            good &= good_again & agree
        fresh = good & np.isnan(jumps[:, todo])
        jumps[:, todo] = np.where(fresh, jump, jumps[:, todo])
        errors[:, todo] = np.where(fresh, error, errors[:, todo])
        delta[todo] /= _SHRINK
        todo = todo[np.isnan(jumps[:, todo]).any(0)]
    return jumps, errors


class _ShiftedLine:
    """The pieces of E beside the kinks of one line, read on shifted copies of it.

    Each kink's left and right piece is read in a window that ends at the kink. A gap
    up to twice the median half-gap is one window shared by the kinks at its ends; a
    longer gap gets a window of that size at each end (``shrink`` scales that size).
    Keeping the points near their kink matters: a crossing of Sing(X) where E barely
    bends on the line (its jump factor G near 0) can still bend the shifted lines by a
    shift-sized amount, and spoils a piece read beyond it.
    """

    def __init__(
        self,
        f: Callable[[np.ndarray], np.ndarray],
        base: np.ndarray,
        direction: np.ndarray,
        kinks: np.ndarray,
        lo: float,
        hi: float,
        rel_tol: float,
        shrink: float = 1.0,
    ) -> None:
        self.f, self.base, self.direction, self.rel_tol = f, base, direction, rel_tol
        edges = np.concatenate([[lo], kinks, [hi]])
        gap = 0.5 * np.diff(edges)
        reach = shrink * (np.median(gap[1:-1]) if len(kinks) > 1 else gap.min())
        centre, half, self.left, self.right = [], [], [], []
        for g, (start, stop) in enumerate(itertools.pairwise(edges)):
            if gap[g] <= reach or g in (0, len(kinks)):
                centre.append(0.5 * (start + stop) if gap[g] <= reach else None)
                half.append(min(gap[g], reach) if centre[-1] is None else gap[g])
                if centre[-1] is None:  # an outer gap: one window, at its kink
                    centre[-1] = start + half[-1] if g else stop - half[-1]
                windows = [len(centre) - 1, len(centre) - 1]
            else:
                centre += [start + reach, stop - reach]
                half += [reach, reach]
                windows = [len(centre) - 2, len(centre) - 1]
            if g > 0:
                self.right.append(windows[0])  # the right piece of kink g - 1
            if g < len(kinks):
                self.left.append(windows[1])  # the left piece of kink g
        self.half = np.array(half)
        self.t = (np.array(centre)[:, None] + self.half[:, None] * _NODES[None, :]).ravel()
        self.room = _ROOM * np.minimum(self.half[self.left], self.half[self.right])  # (K,)

    def jumps(
        self, coordinates: np.ndarray, delta: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Gradient jumps (K, C) with shifts delta (C,), their errors, and which held."""
        values = _shifted_values(self.f, self.base, self.direction, self.t, coordinates, delta)
        values = values.reshape(len(coordinates), 2, len(self.half), len(_NODES))
        coef = values @ _FIT  # (C, 2, windows, 3) in u
        scatter = np.abs(values @ _CHECK)  # (C, 2, windows)
        floor = np.finfo(float).eps * max(float(np.abs(values).max()), np.finfo(float).tiny)
        fits = scatter <= self.rel_tol * floor / np.finfo(float).eps
        left = _derivatives(coef[:, :, self.left], 1.0, self.half[self.left])  # (3, C, 2, K)
        right = _derivatives(coef[:, :, self.right], -1.0, self.half[self.right])
        moved = _nearest_root(*(right - left))  # (C, 2, K)
        stayed = (np.abs(moved) <= self.room).all(1)  # (C, K)
        # A neighbour that jumped over a window's four points leaves them on one quadratic
        # of the wrong piece: the kinks on both sides must have stayed too.
        padded = np.pad(stayed, ((0, 0), (1, 1)), constant_values=True)
        good = fits[:, :, self.left].all(1) & fits[:, :, self.right].all(1) & stayed
        good &= padded[:, :-2] & padded[:, 2:]
        gap = right - left  # (3, C, 2, K): value, slope and curvature jumps at t_k
        jump = (gap[0][:, 0] - gap[0][:, 1]) / (2 * delta[:, None])
        noise = max(float(np.median(scatter)), floor)
        # The kink itself is known only to within the noise: to noise / |E' jump|, or to
        # sqrt(noise / |E'' jump|) where E' barely jumps; the jump moves with it.
        slope, curvature = np.abs(gap[1]).mean((0, 1)), np.abs(gap[2]).mean((0, 1))
        with np.errstate(divide="ignore"):
            located = np.minimum(
                _NOISE_MARGIN * noise / slope, np.sqrt(2 * _NOISE_MARGIN * noise / curvature)
            )
        drift = np.abs(gap[1][:, 0] - gap[1][:, 1]) / (2 * delta[:, None]) * located
        error = _END_GAIN * noise / delta[:, None] + drift
        return jump.T, error.T, good.T


def _derivatives(coef: np.ndarray, u: float, half: np.ndarray) -> np.ndarray:
    """Value, first and second t-derivative at u of quadratics coef (..., G, 3) in u."""
    c0, c1, c2 = np.moveaxis(coef, -1, 0)
    return np.stack([c0 + c1 * u + c2 * u * u, (c1 + 2 * c2 * u) / half, 2 * c2 / half**2])


def _nearest_root(d0: np.ndarray, d1: np.ndarray, d2: np.ndarray) -> np.ndarray:
    """Root nearest 0 of d0 + d1 τ + d2 τ²/2 (inf where there is none)."""
    disc = d1 * d1 - 2.0 * d2 * d0
    with np.errstate(divide="ignore", invalid="ignore"):
        q = -(d1 + np.copysign(np.sqrt(np.maximum(disc, 0.0)), d1))
        root = np.where(q != 0, 2.0 * d0 / q, np.inf)
    return np.where(disc >= 0, np.nan_to_num(root, nan=np.inf), np.inf)


def _shifted_values(
    f: Callable[[np.ndarray], np.ndarray],
    base: np.ndarray,
    direction: np.ndarray,
    t: np.ndarray,
    coordinates: np.ndarray,
    delta: np.ndarray,
) -> np.ndarray:
    """E at base + t·direction ± delta_c e_c: an array (C, 2, P) for P positions t."""
    line = base[None, :] + t[:, None] * direction[None, :]  # (P, N)
    n_points, n_params = line.shape
    block = max(1, _ROWS_PER_BATCH // (2 * n_points))
    values = np.empty((len(coordinates), 2, n_points))
    for start in range(0, len(coordinates), block):
        coords, shifts = coordinates[start : start + block], delta[start : start + block]
        W = np.broadcast_to(line, (len(coords), 2, n_points, n_params)).copy()
        rows = np.arange(len(coords))
        W[rows, 0, :, coords] += shifts[:, None]
        W[rows, 1, :, coords] -= shifts[:, None]
        values[start : start + block] = f(W.reshape(-1, n_params)).reshape(len(coords), 2, -1)
    return values

"""Exact gates: every sample read at the client's own precision.

For ReLU networks with biases and two or more hidden layers. relu of a negative number is
exactly 0 in every floating-point format, so a second ReLU layer can switch off every
sample but those whose projection w·a lies in a window lo < w·a < hi, with no residue:

    layer 1:  g_hi = relu(w·a − hi),  g_lo = relu(lo − w·a)     (both 0 inside the window)
              extra rows r_j: e_k and −e_k (a coordinate) or random directions (a norm)
    layer 2:  y = relu(γ + Σ_j μ_j relu(r_j·a) − Γ (g_hi + g_lo))
    deeper:   y passed on with weight 1;   output: z = y o  (o the attacker's vector)

A sample inside the window gives z = u o with u = γ + Σ_j μ_j relu(r_j·a); a sample
farther than u / Γ outside gives z = 0 exactly and adds its constant share.

- **Chart by counting.** With no extra rows (u = γ = 1), a pair of queries with outputs
  o and −o adds 2κ||o||² per squared-loss sample whatever its label, and κ(s (max β − min β)
  − 2 log d) per cross-entropy sample with logits ±s β: a window's share of the loss is its
  number of samples times one sample's share U. Windows are split at their middle, all
  splits of a level in one batch, the right half's share the parent's minus the left's,
  until each holds one sample. A window narrower than the client's rounding of w·a that
  still holds c >= 2 is charted again along a second direction inside it, and holds c
  duplicates if that does not split it either. U is the smallest share seen, so neither M
  nor the reduction need be known; κ follows from U.
- **Reading a value u >= 0** of an isolated sample in one query. Squared loss, o = s e_0:
  Δ = c κ (s²u² − 2 s u b_0). Cross-entropy, o = s e_j with j not the sample's class:
  Δ = c κ (log(e^{su} + d − 1) − log d). Labels: one query per output (squared), or one
  query whose logits are spaced so that the loss says which one is the label's (cross
  entropy). Then a norm estimate (random rows), and each coordinate as u = 1 + a_k / R with
  R a bound on −a_k from the norm: a coordinate past the bound gives u < 0, y = 0, no share
  at all, and is read again with a larger bound.
- **Checks.** Every recovered input must project into its own windows (with the client's
  rounding of the rows); samples that fail are dropped and counted, never returned.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from lossrecon.activations import ReLU
from lossrecon.errors import ConfigurationError
from lossrecon.network import ReLUNetwork
from lossrecon.precision import ROUNDOFF, answer_resolution

__all__ = ["GateRouter", "GatedResult", "gated_read", "gates_fit"]

_GATE = 1e9  # Γ times a direction's range over the in-window value: margins 1e-9 of it
_CONFIDENT = 0.05  # the largest error bound, relative to the input, of a sample returned
_LEVELS = 100  # chart levels at most
_CHART_BUDGET = 40  # splits per window found, at most, before the chart gives up
_COUNT_TOL = 0.25  # a count this far from an integer means a boundary cut a sample
_SPACING = 64.0  # logit gap between classes (e^-64 is below every format's resolution)
_DOMINANCE = 1e4  # the isolated sample's share over everything else, in reading queries
_NORM_ROWS = 30  # random rows at most in a norm query
_DERIVED = 0.05  # a derived share may be off by this share of one sample's, no more
_REPEATS = 8  # answers at w = 0 that measure the noise of the answers
_KAPPA_WINDOWS = 8  # single-sample windows asked again for the loss's factor
_CONFIRM = 4  # windows of equal share that confirm it is one sample's (M unknown)
_LEAST_SHARE = 1e-3  # the smallest bound R on -a_k, relative to the sample's norm
_RETRIES = 6  # readings of a coordinate past its bound, each with an 8x larger bound


def gates_fit(net: ReLUNetwork) -> str | None:
    """Why exact gates cannot drive ``net``, or None when they can."""
    if not isinstance(net.activation, ReLU):
        return (
            f"exact gates need ReLU (relu of a negative number is exactly 0), not {net.activation}"
        )
    if not net.bias:
        return "exact gates need biases"
    hidden = net.widths[1:-1]
    if len(hidden) < 2:
        return "exact gates need two hidden layers"
    if hidden[0] < 4:
        return f"exact gates need a first hidden layer of width >= 4, not {hidden[0]}"
    return None


class GateRouter:
    """Weight vectors of the gated network: R first-layer rows with their biases, layer 2's
    unit 0 weighing them (``mix``) with bias γ, unit 0 passed on, output column ``out``."""

    def __init__(self, net: ReLUNetwork) -> None:
        reason = gates_fit(net)
        if reason is not None:
            raise ConfigurationError(reason)
        self.net = net
        self.rows = net.widths[1]

    def weights(
        self,
        rows: np.ndarray,
        biases: np.ndarray,
        mix: np.ndarray,
        gamma: np.ndarray,
        out: np.ndarray,
    ) -> np.ndarray:
        """rows (K, R, n), biases (K, R), mix (K, R), gamma (K,), out (K, d) -> W (K, N)."""
        k, r, _ = rows.shape
        if r > self.rows:
            raise ConfigurationError(f"{r} first-layer rows asked for, the network has {self.rows}")
        layout = self.net.layout
        first, second, last = layout.layers[0], layout.layers[1], layout.layers[-1]
        W = np.zeros((k, layout.n_params))
        units = np.arange(r)
        W[:, layout.row_indices(0, units)] = rows
        W[:, first.bias.start + units] = biases  # type: ignore[union-attr]
        W[:, second.weight.start + units] = mix
        W[:, second.bias.start] = gamma  # type: ignore[union-attr]
        for layer in layout.layers[2:-1]:
            W[:, layer.weight.start] = 1.0
        d_out, width = last.shape
        W[:, last.weight.start + np.arange(d_out) * width] = out
        return W


@dataclass
class _Window:
    """Samples whose projections on directions ``dirs`` lie in (lo, hi), one interval each."""

    dirs: list[int]
    lo: list[float]
    hi: list[float]
    share: float = 0.0
    error: float = 0.0  # how far off ``share`` may be: rounding of every answer behind it

    def narrowed(self, lo: float, hi: float) -> _Window:
        return _Window(self.dirs, [*self.lo[:-1], lo], [*self.hi[:-1], hi])

    def deeper(self, direction: int, lo: float, hi: float) -> _Window:
        return _Window(
            [*self.dirs, direction], [*self.lo, lo], [*self.hi, hi], self.share, self.error
        )

    @property
    def width(self) -> float:
        return self.hi[-1] - self.lo[-1]


@dataclass
class GatedResult:
    """What the gated reading recovered: inputs (M', n), labels (M', d) (squared loss) or
    one-hot classes (cross-entropy), multiplicities, per-sample error bounds on the inputs
    (absolute, L2), the loss factor κ, and how many samples failed their check."""

    inputs: np.ndarray
    targets: np.ndarray
    multiplicity: np.ndarray
    input_bounds: np.ndarray
    kappa: float
    failed: int = 0
    warnings: list[str] = field(default_factory=list)


class _Gated:
    """State of one reading; :func:`gated_read` runs it."""

    def __init__(
        self,
        ask: Callable[[np.ndarray, str], np.ndarray],
        net: ReLUNetwork,
        loss: str,
        dtype: str,
        rng: np.random.Generator,
        n_samples: int | None,
        digits: int | None,
    ) -> None:
        self.n_samples = n_samples
        self.ask = ask
        self.net = net
        self.router = GateRouter(net)
        self.loss = loss
        self.dtype = dtype
        self.roundoff = ROUNDOFF[dtype]
        self.digits = digits
        self.decimal = 0.0 if digits is None else 0.5 * 10.0 ** (1 - digits)
        self.answer_roundoff = max(self.roundoff, self.decimal)
        self.rng = rng
        self.n, self.d = net.n_inputs, net.n_outputs
        self.dirs: list[np.ndarray] = []
        self.ranges: list[float] = []
        self.unit = np.inf
        self.noise = 0.0
        self.confirmed = False
        self.closed = 0.0
        self.count_scale = 1.0
        self.warnings: list[str] = []

    # -- queries -------------------------------------------------------------------
    def query(
        self,
        windows: list[_Window],
        extra: np.ndarray,
        extra_mix: np.ndarray,
        gamma: np.ndarray,
        out: np.ndarray,
        phase: str,
    ) -> np.ndarray:
        """Δ = loss − closed loss (K,) for windows with extra first-layer rows (K, J, n)
        weighed by extra_mix (K, J), in-window constant γ (K,) and outputs (K, d)."""
        k = len(windows)
        depth = max(len(w.dirs) for w in windows)
        rows = np.zeros((k, 2 * depth, self.n))
        biases = np.zeros((k, 2 * depth))
        gate = np.zeros((k, 2 * depth))
        reach = np.abs(gamma) + np.abs(extra_mix).sum(1) * self.reach(extra)
        for i, w in enumerate(windows):
            for j, (direction, lo, hi) in enumerate(zip(w.dirs, w.lo, w.hi, strict=True)):
                scale = 1.0 / self.ranges[direction]
                rows[i, 2 * j] = self.dirs[direction] * scale
                rows[i, 2 * j + 1] = -self.dirs[direction] * scale
                biases[i, 2 * j], biases[i, 2 * j + 1] = -hi * scale, lo * scale
                gate[i, 2 * j : 2 * j + 2] = -_GATE * reach[i]
        W = self.router.weights(
            np.concatenate([rows, extra], axis=1),
            np.concatenate([biases, np.zeros(extra.shape[:2])], axis=1),
            np.concatenate([gate, extra_mix], axis=1),
            gamma,
            out,
        )
        return self.ask(W, phase) - self.closed

    def reach(self, extra: np.ndarray) -> np.ndarray:
        """A bound on relu(r·a) over the samples for the extra rows (K, J, n)."""
        if extra.shape[1] == 0:
            return np.zeros(len(extra))
        return np.linalg.norm(extra, axis=2).max(1) * 4.0 * max(self.ranges, default=1.0)

    def plain(self, k: int) -> tuple[np.ndarray, np.ndarray]:
        return np.zeros((k, 0, self.n)), np.zeros((k, 0))

    def count_outputs(self, scale: float = 1.0) -> list[np.ndarray]:
        """The pair of outputs (d,) whose shares add up to a label-free count; ``scale``
        multiplies both (cross-entropy: the logits' spacing)."""
        if self.loss == "squared":
            v = np.zeros(self.d)
            v[0] = self.count_scale * scale
            return [v, -v]
        beta = scale * _SPACING * np.arange(self.d)[::-1]
        return [beta, -beta]

    def pair_share(self, scale: float = 1.0) -> float:
        """One sample's share of a count pair, over κ."""
        if self.loss == "squared":
            return 2.0 * (self.count_scale * scale) ** 2
        return scale * _SPACING * (self.d - 1) - 2.0 * np.log(self.d)

    def shares(
        self, windows: list[_Window], phase: str = "chart", scale: float = 1.0
    ) -> np.ndarray:
        """Each window's share of the loss in a count pair."""
        extra, mix = self.plain(len(windows))
        gamma = np.ones(len(windows))
        total = np.zeros(len(windows))
        for out in self.count_outputs(scale):
            total += self.query(windows, extra, mix, gamma, np.tile(out, (len(windows), 1)), phase)
        return total

    # -- the chart -------------------------------------------------------------------
    def new_direction(self, within: _Window | None) -> int:
        """A random unit direction, and the range of the samples' projections on it
        (inside ``within``): the smallest of the spans tried that holds them all."""
        w = self.rng.normal(size=self.n)
        self.dirs.append(w / np.linalg.norm(w))
        index = len(self.dirs) - 1
        base = within if within is not None else _Window([], [], [])
        spans = 10.0 ** np.arange(-6.0, 13.0)
        shares = np.zeros(len(spans))
        for i, span in enumerate(spans):  # each span is its own range (so its own Γ)
            self.ranges.append(float(span))
            shares[i] = self.shares([base.deeper(index, -span, span)], "range")[0]
            self.ranges.pop()
        full = shares[-1]
        tolerance = max(1e-6 * abs(full), 4.0 * self.floor(full))
        enough = np.flatnonzero(np.abs(shares - full) <= tolerance)
        self.ranges.append(float(spans[enough[0]]) if len(enough) else float(spans[-1]))
        return index

    def chart(self, n_samples: int | None) -> list[_Window]:
        """Windows of one sample each, or of duplicates."""
        top_dir = self.new_direction(None)
        span = self.ranges[top_dir]
        top = _Window([top_dir], [-span], [span])
        top.share = float(self.shares([top])[0])
        top.error = self.floor(top.share)
        if not top.share > top.error:
            self.warnings.append("no sample's share shows in the loss: nothing to read")
            return []
        known = n_samples is not None
        if n_samples is not None:
            self.unit = top.share / n_samples
        leaves = [top]
        spent = 0
        for _ in range(_LEVELS):
            # One sample's share: the smallest share known to a tenth of itself.
            precise = [w.share for w in leaves if w.error <= 0.1 * w.share]
            if (len(leaves) > 1 or known) and precise:
                self.unit = min(self.unit, *precise)
            slack = max(0.01, *(3.0 * w.error / w.share for w in leaves))
            agreeing = sum(abs(w.share - self.unit) <= slack * self.unit for w in leaves)
            self.confirmed = known or agreeing >= _CONFIRM
            todo = [
                w
                for w in leaves
                if (w.share >= 1.5 * self.unit or not self.confirmed) and self.splittable(w)
            ]
            if not todo:
                break
            if spent > _CHART_BUDGET * max(len(leaves), 1) + 1000:
                self.warnings.append(
                    "the chart does not settle (noisy answers?): reading the windows it has"
                )
                break
            rest = [w for w in leaves if not any(w is t for t in todo)]
            spent += len(todo)
            leaves = rest + self.split(todo)
        else:
            self.warnings.append(f"windows were still unsplit after {_LEVELS} levels")
        return self.settle(leaves)

    def unit_guess(self, w: _Window) -> float:
        """One sample's share as far as known (the window's own while none is known)."""
        return self.unit if np.isfinite(self.unit) else w.share

    def floor(self, share: float) -> float:
        """The share below which a window holds nothing: rounding and noise of the loss."""
        return self.resolution * (abs(self.closed) + abs(share))

    @property
    def resolution(self) -> float:
        """The relative error of an answer that still counts as nothing."""
        return answer_resolution(self.dtype, self.digits, self.noise)

    def splittable(self, w: _Window) -> bool:
        """Wider than the client's rounding of w·a, or room for another direction (when
        the window's count is precise enough to say it holds several)."""
        if w.width > 64.0 * self.roundoff * self.ranges[w.dirs[-1]]:
            return True
        room = len(w.dirs) < 2 and 2 * (len(w.dirs) + 1) + 2 <= self.router.rows
        return room and w.error <= 0.25 * self.unit_guess(w)

    def split(self, windows: list[_Window]) -> list[_Window]:
        """Split every window near its middle, all in one batch (a window below the
        client's resolution is charted along a new direction inside it instead)."""
        narrow = [w for w in windows if w.width <= 64.0 * self.roundoff * self.ranges[w.dirs[-1]]]
        wide = [w for w in windows if not any(w is v for v in narrow)]
        children = []
        for w in narrow:
            deeper = self.new_direction(w)
            span = self.ranges[deeper]
            children.append(w.deeper(deeper, -span, span))
        if not wide:
            return children
        lefts, rights = [], []
        for w in wide:
            cut = 0.5 * (w.lo[-1] + w.hi[-1]) + 1e-3 * w.width * self.rng.uniform(-1.0, 1.0)
            lefts.append(w.narrowed(w.lo[-1], cut))
            rights.append(w.narrowed(cut, w.hi[-1]))
        # A right half is the parent's share minus the left's, unless the parent's own
        # error would then blur a count: then it is asked too.
        coarse = [
            r for p, r in zip(wide, rights, strict=True) if p.error > _DERIVED * self.unit_guess(p)
        ]
        asked = lefts + coarse
        for window, share in zip(asked, self.shares(asked), strict=True):
            window.share = float(share)
            window.error = self.floor(window.share)
        for parent, left, right in zip(wide, lefts, rights, strict=True):
            if not any(right is r for r in coarse):
                right.share = parent.share - left.share
                right.error = parent.error + left.error
            for child in (left, right):
                if child.share > max(child.error, 0.25 * self.unit if self.confirmed else 0.0):
                    children.append(child)
        return children

    def settle(self, windows: list[_Window]) -> list[_Window]:
        """Keep the windows whose share is a whole number of units, and which hold one
        sample or are narrower than the client's resolution on every direction
        (duplicates)."""
        kept = []
        for w in windows:
            count = w.share / self.unit
            if abs(count - round(count)) > _COUNT_TOL:
                self.warnings.append(
                    f"a window counted {count:.2f} samples (a boundary cut a sample): left out"
                )
            elif round(count) >= 2 and self.splittable(w):
                self.warnings.append(
                    f"a window of {round(count)} samples could not be split further: left out"
                )
            else:
                kept.append(w)
        return kept

    # -- readouts --------------------------------------------------------------------
    def kappa(self, windows: list[_Window]) -> float:
        """κ from one sample's share in a count pair, asked afresh of a few single-sample
        windows (the chart's shares of most windows are differences, with their parents'
        rounding in them)."""
        singles = [w for w in windows if round(w.share / self.unit) == 1][:_KAPPA_WINDOWS]
        if not singles:
            return self.unit / self.pair_share()
        # Outputs scaled so that the sample's share outweighs the rest of the loss
        # _DOMINANCE times: κ then carries the format's roundoff, not the closed loss's.
        ratio = _DOMINANCE * max(abs(self.closed), 1e-300) / self.unit
        scale = max(1.0, np.sqrt(ratio) if self.loss == "squared" else ratio)
        unit = float(np.median(self.shares(singles, "kappa", scale)))
        return unit / self.pair_share(scale)

    def su(self, delta: np.ndarray, count: np.ndarray, label: np.ndarray | None) -> np.ndarray:
        """s u from Δ: squared loss with o = s e_0 (label = b_0), or cross-entropy with o = s
        e_j, j not the class."""
        per = delta / (count * self.kappa_)
        if self.loss == "squared":
            assert label is not None
            return label + np.sqrt(np.maximum(label**2 + per, 0.0))
        x = per + np.log(self.d)
        return x + np.log1p(-(self.d - 1) * np.exp(-np.clip(x, 0.0, 700.0)))

    def read_values(
        self,
        pick: np.ndarray,
        extra: np.ndarray,
        mix: np.ndarray,
        gamma: np.ndarray,
        u_scale: float,
        phase: str,
    ) -> tuple[np.ndarray, np.ndarray]:
        """u (K,) of the isolated samples ``pick`` (indices into the windows), whose size is
        about ``u_scale``, and the bound on its error from the format (8 unit roundoffs
        of the loss)."""
        windows = [self.windows[i] for i in pick]
        count = self.count[pick]
        k = len(windows)
        out = np.zeros((k, self.d))
        label = None
        if self.loss == "squared":
            label = self.labels[pick, 0]
            s = np.sqrt(_DOMINANCE * max(self.closed, self.unit) / (count * self.kappa_))
            s = np.maximum(s, _DOMINANCE * (1.0 + np.abs(label))) / u_scale
            out[:, 0] = s
        else:
            s = _DOMINANCE * max(self.closed / self.kappa_, 1.0) / count / u_scale
            out[np.arange(k), self.other[pick]] = s
        delta = self.query(windows, extra, mix, gamma, out, phase)
        error = max(8.0 * self.roundoff, 2.0 * self.decimal, 4.0 * self.noise)
        error = error * (abs(self.closed) + np.abs(delta))
        # No share at all is u = 0 (the other root of the squared loss's quadratic, su =
        # 2 b_0, is what the dominant output scale rules out).
        nothing = np.abs(delta) <= error
        su = np.where(nothing, 0.0, self.su(delta, count, label))
        su_hi = np.where(nothing, 0.0, self.su(delta + error, count, label))
        return su / s, np.abs(su_hi - su) / s

    def read_labels(self) -> None:
        """Squared loss: every output of every sample; cross-entropy: each one's class."""
        windows, count = self.windows, self.count
        k = len(windows)
        extra, mix = self.plain(k)
        gamma = np.ones(k)
        if self.loss == "squared":
            s = np.sqrt(max(self.closed, 1e-300) / (count * self.kappa_))
            self.labels = np.zeros((k, self.d))
            for m in range(self.d):
                out = np.zeros((k, self.d))
                out[:, m] = s
                delta = self.query(windows, extra, mix, gamma, out, "labels")
                self.labels[:, m] = (s - delta / (count * self.kappa_ * s)) / 2.0
            return
        # Logits spaced by _SPACING times a scale that keeps the answers' noise a small
        # share of one spacing.
        spread = max(1.0, 16.0 * max(self.noise, self.answer_roundoff) * self.closed / self.kappa_)
        beta = spread * _SPACING * np.arange(self.d)[::-1]
        delta = self.query(windows, extra, mix, gamma, np.tile(beta, (k, 1)), "labels")
        position = (delta / (count * self.kappa_) + np.log(self.d)) / (spread * _SPACING)
        self.classes = np.round(position).astype(int)
        self.class_ok = (np.abs(position - self.classes) < 0.1) & (self.classes >= 0)
        self.class_ok &= self.classes < self.d
        self.classes = np.clip(self.classes, 0, self.d - 1)
        self.other = (self.classes + 1) % self.d
        self.labels = np.eye(self.d)[self.classes]

    def read_norms(self) -> np.ndarray:
        """A rough ||a|| per sample: the mean of relu(r·a) over random rows r."""
        k = len(self.windows)
        depth = max(len(w.dirs) for w in self.windows)
        j = min(_NORM_ROWS, self.router.rows - 2 * depth)
        rows = self.rng.normal(size=(j, self.n))
        scale = max(self.ranges) * np.sqrt(self.n)
        extra = np.tile(rows, (k, 1, 1))
        mix = np.full((k, j), 1.0 / (j * scale))
        u_scale = 1.0 / np.sqrt(2.0 * np.pi * self.n)
        u, du = self.read_values(np.arange(k), extra, mix, np.zeros(k), u_scale, "norms")
        self.norm_rows, self.norm_mix, self.norm_u, self.norm_du = rows, mix[0, 0], u, du
        return np.sqrt(2.0 * np.pi) * u * scale

    def read_inputs(self, norms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Every coordinate as u = 1 + a_k / R, re-read with a larger R past the bound."""
        k = len(self.windows)
        fallback = np.array([max(abs(w.lo[0]), abs(w.hi[0])) for w in self.windows])
        scale = np.where(norms > 0, norms, fallback)
        # R = share * scale: at first what a dense vector's coordinates need, then 1.2 times the
        # most negative coordinate seen so far (relative to its sample's scale): data that
        # are never negative (images) are read with R near 0, at full relative precision.
        share = min(1.0, 4.0 / np.sqrt(self.n))
        inputs = np.zeros((k, self.n))
        errors = np.zeros((k, self.n))
        for coordinate in range(self.n):
            if coordinate:
                seen = -np.nanmin(inputs[:, :coordinate] / scale[:, None])
                share = min(1.0, max(1.2 * seen, _LEAST_SHARE))
            todo = np.arange(k)
            radius = share * scale
            for attempt in range(_RETRIES):
                if not len(todo):
                    break
                e = np.zeros(self.n)
                e[coordinate] = 1.0
                extra = np.tile(np.stack([e, -e]), (len(todo), 1, 1))
                alpha = 1.0 / radius[todo]
                mix = np.stack([alpha, -alpha], axis=1)
                u, du = self.read_values(
                    todo,
                    extra,
                    mix,
                    np.ones(len(todo)),
                    1.0,
                    "coordinates" if attempt == 0 else "coordinates again",
                )
                past = u < 1e-3
                good = todo[~past]
                inputs[good, coordinate] = (u[~past] - 1.0) * radius[good]
                errors[good, coordinate] = du[~past] * radius[good]
                todo = todo[past]
                radius[todo] *= 8.0
            if len(todo):
                inputs[todo, coordinate] = np.nan
        return inputs, errors

    def check(self, windows: list[_Window], inputs: np.ndarray, errors: np.ndarray) -> np.ndarray:
        """Whether each recovered input projects into its windows, with the client's
        rounding of the rows and the inputs' error bounds."""
        ok = np.all(np.isfinite(inputs), axis=1)
        # The norm query's value, predicted from the inputs read, must match what it was.
        # Its rows as the client rounds them; its own rounding of r·a is part of the slack.
        rows = self.norm_rows.astype(self.dtype_np).astype(np.float64)
        a = np.nan_to_num(inputs)
        predicted = self.norm_mix * np.maximum(a @ rows.T, 0.0).sum(1)
        size = self.norm_mix * np.linalg.norm(rows, axis=1).sum() * np.linalg.norm(a, axis=1)
        rounding = 8.0 * self.roundoff * np.sqrt(self.n) * size
        reach = (
            size * np.linalg.norm(errors, axis=1) / np.maximum(np.linalg.norm(a, axis=1), 1e-300)
        )
        ok &= np.abs(predicted - self.norm_u) <= 4.0 * (self.norm_du + reach) + rounding
        for i, w in enumerate(windows):
            if not ok[i]:
                continue
            for direction, lo, hi in zip(w.dirs, w.lo, w.hi, strict=True):
                scale = self.ranges[direction]
                row: np.ndarray = (self.dirs[direction] / scale).astype(self.dtype_np)
                t = float(row.astype(np.float64) @ inputs[i]) * scale
                slack = 64.0 * self.roundoff * scale + float(np.linalg.norm(errors[i])) * 4.0
                ok[i] &= lo - slack <= t <= hi + slack
        return ok

    @property
    def dtype_np(self) -> type:
        return {"float64": np.float64, "float32": np.float32, "float16": np.float16}.get(
            self.dtype, np.float32
        )

    def run(self, closed: np.ndarray | None) -> GatedResult:
        if closed is None:
            closed = self.ask(np.zeros((_REPEATS, self.net.n_params)), "baseline")
        self.closed = float(np.median(closed))
        self.noise = float(np.std(closed) / max(abs(self.closed), 1e-300))
        if self.loss == "squared":
            self.count_scale = 1e3 * np.sqrt(max(abs(self.closed), 1e-30))
        windows = self.chart(self.n_samples)
        empty = GatedResult(
            np.zeros((0, self.n)), np.zeros((0, self.d)), np.zeros(0), np.zeros(0), 0.0
        )
        if not windows:
            empty.warnings = self.warnings
            return empty
        self.kappa_ = self.kappa(windows)
        self.windows = windows
        self.count = np.array([round(w.share / self.unit) for w in windows], dtype=float)
        count = self.count
        self.read_labels()
        norms = self.read_norms()
        inputs, errors = self.read_inputs(norms)
        ok = self.check(windows, inputs, errors)
        if self.loss == "cross_entropy":
            ok &= self.class_ok
        # A sample whose error bound is a sizeable share of itself is not returned as read.
        norm = np.linalg.norm(np.nan_to_num(inputs), axis=1)
        ok &= np.linalg.norm(errors, axis=1) <= _CONFIDENT * np.maximum(norm, 1e-300)
        failed = int((~ok).sum())
        if failed:
            self.warnings.append(f"{failed} samples failed their check and are left out")
        return GatedResult(
            inputs[ok],
            self.labels[ok],
            count[ok],
            np.linalg.norm(errors[ok], axis=1),
            self.kappa_,
            failed,
            self.warnings,
        )


def gated_read(
    ask: Callable[[np.ndarray, str], np.ndarray],
    net: ReLUNetwork,
    *,
    loss: str,
    dtype: str,
    rng: np.random.Generator,
    n_samples: int | None = None,
    digits: int | None = None,
    closed: np.ndarray | None = None,
) -> GatedResult:
    """Read every sample of the network's training set through exact gates.

    ``ask(W, phase)`` answers a (K, N) batch of weight vectors; ``loss`` is "squared" or
    "cross_entropy", ``dtype`` the client's arithmetic (its unit roundoff sets the chart's
    resolution and the error bounds); ``digits``, the significant digits the answers are
    rounded to, if they are; ``n_samples``, M when known, only speeds the chart; ``closed``,
    answers already had at w = 0 (they measure the noise), else asked.
    """
    return _Gated(ask, net, loss, dtype, rng, n_samples, digits).run(closed)

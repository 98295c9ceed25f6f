"""Exact gates: every sample read at the client's own precision.

For ReLU networks with two or more hidden layers (biases or none: the end of this note).
relu of a negative number is exactly 0 in every floating-point format, so a second ReLU
layer can switch off every sample but those whose projection w·a lies in a window
lo < w·a < hi, with no residue:

    layer 1:  g_hi = relu(w·a − hi),  g_lo = relu(lo − w·a)     (both 0 inside the window)
              extra rows r_j: e_k and −e_k (a coordinate) or random directions (a norm)
    layer 2:  y = relu(γ + Σ_j μ_j relu(r_j·a) − Γ (g_hi + g_lo))
    deeper:   y passed on with weight 1;   output: z = y o  (o the attacker's vector)

A sample inside the window gives z = u o with u = γ + Σ_j μ_j relu(r_j·a); a sample
farther than u / Γ outside gives z = 0 exactly and adds its constant share.

- **Chart by counting.** With no extra rows (u = γ = 1), a pair of queries with outputs
  o e_0 and −o e_0 adds 2κo² per squared-loss sample and κ(LSE(o, 0, …) + LSE(−o, 0, …)
  − 2 log d) per cross-entropy sample, whatever its label: a window's share of the loss is
  its number of samples times one sample's share U. Windows are split near their middle,
  all splits of a level in one batch, the right half's share the parent's minus the
  left's (or asked, where a count would blur or a sample may sit on the cut), until each
  holds one sample; a split that does not count whole samples is undone and cut
  elsewhere. A window the client cannot cut further that still holds c >= 2 is charted
  along new directions inside it, and holds c duplicates if those do not split it
  either. U is the smallest share confirmed, so neither M nor the reduction need be
  known; κ follows from U. Once U and κ are known, one count pair counts several
  windows, each on a layer-2 unit of its own, their counts packed in its answer as
  mixed-radix digits (bounded by their parents' counts); a pack that does not decode
  is counted again one window a pair.
- **Reading a value u >= 0** of an isolated sample in one query. Squared loss,
  o = −sign(b_0) s e_0: Δ = c κ ((su)² + 2 su |b_0|). Cross-entropy, o = s e_j with j not
  the sample's class: Δ = c κ (log(e^{su} + d − 1) − log d). Labels: one query per output
  (squared; several outputs a query once the first samples' labels show a grid, as
  one-hot rows do), or one query whose logits are spaced so that the loss says which one
  is the label's (cross entropy). Then a norm estimate (random rows), and each coordinate as
  u = 1 + a_k / R with R a bound on −a_k: a coordinate past the bound gives u < 0, y = 0,
  no share at all, and is read again with a larger bound. Quantized inputs are read
  several coordinates a query once the first samples show their grid
  (:mod:`lossrecon.attacks.packing`).
- **The client's format.** Weights are powers of two times numbers the client holds
  exactly; outputs stay far below its largest number; an answer past its range or at its
  clipping ceiling is asked again smaller; noisy answers are repeated where they blur a
  count, a class or a sample.
- **Checks.** Every recovered input must project into its own windows (with the client's
  rounding of the rows) and reproduce its norm query, within per-number error bounds;
  samples that fail are read again (packed ones, unpacked) or dropped and counted, never
  returned.

**Without biases** (the paper's networks; squared loss, float32 or float64) every unit is
positively homogeneous. An anchor u0 (all ones, over sqrt(n)) takes one first-layer row;
a bias b of a first-layer row becomes b u0, γ the weight of the anchor's unit, and the
network computes t · (the gated network above at â = a / t), t = u0·a, for the samples
with t > 0 (those with t < 0 are read alongside, in windows whose anchor is −u0).
Reading â and b̂ = b / t is the reading above with each window's factor κ t² in place
of c κ. But a share now counts nothing: each window's samples' share-weighted mean
position and spread along its direction are read instead (two count pairs with
u = 1 ± α (r − c)); a window whose positions spread is cut at their mean (which parts
any two distinct samples), one whose positions do not is read (probed first near its
mean where the answers blur positions). A window that still held two samples reads a
blend, which fails the checks: it is off the plane u0·â = 1 (squared readouts are
root-mean-squares), or it loses its share when narrowed to slabs around the blend along
fresh random directions; it is charted again along a new direction. κ t² gives t only
with κ, which the answers cannot tell (k copies of (a, b) lose as (√k a, √k b) does):
the reduction is declared or taken to be "mean", with M known or counted from the
shares.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import partial

import numpy as np

from lossrecon.activations import ReLU
from lossrecon.attacks.packing import (
    PackGrid,
    decode,
    pack_grid,
    per_query,
    weights,
    widened,
)
from lossrecon.errors import AttackError, ConfigurationError
from lossrecon.network import ReLUNetwork
from lossrecon.oracle.protocol import reduction_scale
from lossrecon.precision import ACCUMULATION, LARGEST, ROUNDOFF, answer_resolution, in_format

__all__ = ["GateRouter", "GatedResult", "gated_read", "gates_fit"]

_GATE = 1e9  # Γ times a direction's range over the in-window value: margins 1e-9 of it
_CONFIDENT = 0.05  # the largest error bound, relative to the input, of a sample returned
_LEVELS = 100  # chart levels at most
_CHART_BUDGET = 40  # splits per window found, at most, before the chart gives up
_COUNT_TOL = 0.25  # a count this far from an integer means a boundary cut a sample
_SPACING = 64.0  # logit gap between classes (e^-64 is below every format's resolution)
_DOMINANCE = 1e4  # the isolated sample's share over everything else, in reading queries, at least
_NORM_ROWS = 30  # random rows at most in a norm query
_DERIVED = 0.05  # a derived share may be off by this share of one sample's, no more
_REPEATS = 8  # answers at w = 0 that measure the noise of the answers
_KAPPA_WINDOWS = 8  # single-sample windows asked again for the loss's factor
_CONFIRM = 4  # windows of equal share that confirm it is one sample's (M unknown)
_LEAST_SHARE = 1e-3  # the smallest bound R on -a_k, relative to the sample's norm
_RETRIES = 6  # readings of a coordinate past its bound, each with an 8x larger bound
_RECUTS = 3  # cuts of a window that cut a sample, before it is charted on a new direction
_DIRECTIONS = 4  # directions a window is charted along, at most
_HEADROOM = 16.0  # the largest finite number of the format over the largest value asked
_PILOT = 2  # samples read one coordinate a query, before a grid is looked for
_PILOT_MORE = 16  # samples read so in all, before the grid is given up
_LABEL_PILOT = 16  # squared loss: samples whose outputs are read one a query, for a grid
_NOISE_REPEATS = 24  # more answers at w = 0 when the first show noise
_NOISE_READS = 8  # extra readings of a sample whose bound the answers' noise widens
_SHRINKS = 12  # times a query's output scale is divided by 8 while its answer saturates
_NOTHING = "no sample's share shows in the loss: nothing to read"
_BLUR = 0.05  # bias-free: a blur of positions, over a window's half-width, probed before reading
_STABLE = 3  # bias-free: probes near the mean that leave one part empty, before reading
_ALONE = 2  # bias-free: fresh directions a window is narrowed along to check it holds one sample
_RECHARTS = 4  # bias-free: times the windows whose reading fails are charted again


def _power_of_two(x: float | np.ndarray) -> np.ndarray:
    """The power of two just below ``x``: every format holds it exactly, so a weight made
    of it reaches the client unrounded."""
    return np.exp2(np.floor(np.log2(np.asarray(x, dtype=float))))


def _terms(gamma: np.ndarray, u: np.ndarray) -> np.ndarray:
    """The magnitudes of a packed u's terms added up: γ's and the weighted coordinates'."""
    return np.abs(gamma) + np.abs(u - gamma)


def _noise_bound(answers: np.ndarray) -> float:
    """The standard deviation of repeated answers, at the upper end of its 99 %
    confidence interval (a handful of repeats can understate it twice over)."""
    from scipy.stats import chi2

    n = len(answers)
    if n < 2 or np.std(answers) == 0:
        return 0.0
    return float(np.std(answers, ddof=1) * np.sqrt((n - 1) / chi2.ppf(0.01, n - 1)))


def gates_fit(net: ReLUNetwork) -> str | None:
    """Why exact gates cannot drive ``net``, or None when they can."""
    if not isinstance(net.activation, ReLU):
        return (
            f"exact gates need ReLU (relu of a negative number is exactly 0), not {net.activation}"
        )
    hidden = net.widths[1:-1]
    if len(hidden) < 2:
        return "exact gates need two hidden layers"
    # Two rows gate a window, two read a coordinate; without biases one more carries
    # the anchor u0·a that stands in for the constant.
    least = 4 if net.bias else 5
    if hidden[0] < least:
        return (
            f"exact gates need a first hidden layer of width >= {least}"
            f"{'' if net.bias else ' without biases'}, not {hidden[0]}"
        )
    return None


class GateRouter:
    """Weight vectors of the gated network: R first-layer rows with their biases, U
    units of layer 2 each weighing them (``mix``) with its own bias γ, each unit passed on
    through the deeper layers, the output columns ``out`` on them.

    Without biases (the paper's networks) every bias b of a first-layer row becomes b u0
    added to the row, and γ the weight of one more first-layer row, the anchor u0: the
    network then computes t · (the biased network at a / t), t = u0·a, for every sample
    with t > 0 (every unit is positively homogeneous)."""

    def __init__(self, net: ReLUNetwork, anchor: np.ndarray | None = None) -> None:
        reason = gates_fit(net)
        if reason is not None:
            raise ConfigurationError(reason)
        self.net = net
        self.anchor: np.ndarray | None = None
        if not net.bias:
            n = net.n_inputs
            self.anchor = np.ones(n) / np.sqrt(n) if anchor is None else np.asarray(anchor)
        # The anchor takes the first layer's last row.
        self.rows = net.widths[1] - (0 if net.bias else 1)
        # Units that reach the output side by side: the narrowest hidden layer past the first.
        self.units = min(net.widths[2:-1])

    def weights(
        self,
        rows: np.ndarray,
        biases: np.ndarray,
        mix: np.ndarray,
        gamma: np.ndarray,
        out: np.ndarray,
        sides: np.ndarray | None = None,
    ) -> np.ndarray:
        """rows (K, R, n), biases (K, R), mix (K, U, R), gamma (K, U), out (K, U, d) ->
        W (K, N); without biases, ``sides`` (K,) signs the anchor of each (default +1:
        the samples with u0·a > 0; −1 reads those with u0·a < 0)."""
        k, r, _ = rows.shape
        u = mix.shape[1]
        if r > self.rows:
            raise ConfigurationError(f"{r} first-layer rows asked for, the network has {self.rows}")
        if u > self.units:
            raise ConfigurationError(f"{u} gated units asked for, the network passes {self.units}")
        layout = self.net.layout
        first, second, last = layout.layers[0], layout.layers[1], layout.layers[-1]
        W = np.zeros((k, layout.n_params))
        rows_at, units = np.arange(r), np.arange(u)
        second_rows = layout.row_indices(1, units)
        if self.anchor is None:
            W[:, layout.row_indices(0, rows_at)] = rows
            W[:, first.bias.start + rows_at] = biases  # type: ignore[union-attr]
            W[:, second.bias.start + units] = gamma  # type: ignore[union-attr]
        else:
            anchor = self.anchor * (np.ones(k) if sides is None else sides)[:, None]
            W[:, layout.row_indices(0, rows_at)] = rows + biases[..., None] * anchor[:, None]
            W[:, layout.row_indices(0, self.rows)] = anchor
            W[:, second_rows[:, self.rows]] = gamma
        W[:, second_rows[:, :r]] = mix
        for index in range(2, len(layout.layers) - 1):
            W[:, layout.row_indices(index, units)[units, units]] = 1.0
        d_out, width = last.shape
        W[:, last.weight.start + np.arange(d_out)[None, :] * width + units[:, None]] = out
        return W


@dataclass
class _Window:
    """Samples whose projections on directions ``dirs`` lie in (lo, hi), one interval each."""

    dirs: list[int]
    lo: list[float]
    hi: list[float]
    share: float = 0.0
    error: float = 0.0  # how far off ``share`` may be: rounding of every answer behind it
    recuts: int = 0  # splits of this window undone because a cut ran through a sample
    scale: float = 1.0  # the count pair's output scale its share was read at
    # Bias-free, a window whose positions showed no spread: their mean and the spread the
    # answers cannot tell (0: not probed), and the probes in a row that left one part empty.
    centre: float = 0.0
    blur: float = 0.0
    stable: int = 0
    side: float = 1.0  # bias-free: the anchor's sign its samples are read with (u0·a > 0)

    def narrowed(self, lo: float, hi: float, cap: float) -> _Window:
        """A part of this window along its last direction; about half its samples, so
        its count may be read at twice the scale (at most ``cap``)."""
        return _Window(
            self.dirs,
            [*self.lo[:-1], lo],
            [*self.hi[:-1], hi],
            scale=min(cap, 2.0 * self.scale),
            side=self.side,
        )

    def deeper(self, direction: int, lo: float, hi: float) -> _Window:
        """This window cut along one more direction (not probed along it yet)."""
        return _Window(
            [*self.dirs, direction],
            [*self.lo, lo],
            [*self.hi, hi],
            self.share,
            self.error,
            scale=self.scale,
            side=self.side,
        )

    @property
    def width(self) -> float:
        return self.hi[-1] - self.lo[-1]


@dataclass
class GatedResult:
    """What the gated reading recovered: inputs (M', n), labels (M', d) (squared loss) or
    one-hot classes (cross-entropy), multiplicities, a bound on the error of every input
    number (M', n) and label (M', d), the loss factor κ and its relative error, how many
    samples failed their check, and the share of each one's coordinates read packed on
    the grid the first samples showed (``grid``, None when they showed none; squared
    loss: ``label_grid``, the grid their labels were read packed on)."""

    inputs: np.ndarray
    targets: np.ndarray
    multiplicity: np.ndarray
    input_bounds: np.ndarray
    target_bounds: np.ndarray
    kappa: float
    kappa_error: float = 0.0
    packed: np.ndarray | None = None
    grid: PackGrid | None = None
    label_grid: PackGrid | None = None
    failed: int = 0
    warnings: list[str] = field(default_factory=list)
    reduction: str | None = None  # bias-free: the reduction the scale was set by
    # Bias-free: False where the reduction was assumed, or M estimated with samples
    # missed, so that every input and label may be off by one common factor.
    scale_known: bool = True


@dataclass
class _Reading:
    """What one pass read of K windows (bias-free: in the anchor's units): inputs and
    their bounds (K, n), labels and theirs (K, d), each window's multiplicity, its loss
    factor (c κ; bias-free κ t²) and the factor's relative error (K,), whether each
    passed every check (K,), whether its check showed it held more than one sample (K,:
    bias-free, charted again), and the share of its coordinates read packed (K,)."""

    windows: list[_Window]
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

    def subset(self, keep: np.ndarray) -> _Reading:
        arrays = (getattr(self, f) for f in _READ_ARRAYS)
        chosen = [w for w, k in zip(self.windows, keep, strict=True) if k]
        return _Reading(chosen, *(a[keep] for a in arrays))

    @staticmethod
    def joined(parts: list[_Reading]) -> _Reading:
        windows = [w for part in parts for w in part.windows]
        arrays = (np.concatenate([getattr(p, f) for p in parts]) for f in _READ_ARRAYS)
        return _Reading(windows, *arrays)


_READ_ARRAYS = (
    "inputs",
    "errors",
    "labels",
    "label_bounds",
    "count",
    "weight",
    "relative",
    "ok",
    "shared",
    "packed",
)


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
        ceiling: float | None,
        pack: bool = True,
        reduction: str | None = None,
    ) -> None:
        self.n_samples = n_samples
        self.warnings: list[str] = []
        self.router = GateRouter(net)
        homogeneous = self.router.anchor is not None
        if homogeneous and loss != "squared":
            raise ConfigurationError(
                "exact gates read bias-free networks under a squared loss only; "
                f"{loss!r} without biases is not built"
            )
        if homogeneous and dtype not in ("float32", "float64"):
            raise ConfigurationError(
                f"the client computes in {dtype}: exact gates without biases read float32 "
                "and float64 clients only (in half precision the inputs' unknown scale "
                "overflows the gate rows, and 8-bit answers cannot show that a window "
                "holds one sample)"
            )
        # Without biases the inputs are read in the anchor's units, a / (u0·a), which lie
        # on no common grid: nothing is packed.
        self.pack = pack and not homogeneous
        # Bias-free squared loss: inputs and labels scale together against 1/sqrt(κ), so
        # the reduction cannot be read off the answers; PyTorch's default is assumed.
        self.reduction, self.reduction_known = reduction or "mean", reduction is not None
        if homogeneous and reduction is None:
            self.warnings.append(
                "without biases the loss scales inputs and labels together with its "
                "reduction, which the answers cannot tell: 'mean' (nn.MSELoss's default) "
                "assumed, and the scale is not known (scale_known is False; give "
                "reduction= to fix it)"
            )
        self.grid: PackGrid | None = None
        self.label_grid: PackGrid | None = None
        self.clip = ceiling
        self.ceiling = np.inf
        self.headroom = np.inf  # how far the loss may rise above the closed loss
        self.ask = ask
        self.net = net
        self.loss = loss
        self.dtype = dtype
        self.roundoff = ROUNDOFF[dtype]
        # A projection w·a wobbles by the rounding of its accumulation; half-precision
        # clients accumulate in float32 and round once, relative to the result.
        self.wobble = ROUNDOFF[ACCUMULATION[dtype]]
        # Every weight and every value asked for stays _HEADROOM below the format's largest
        # finite number (float16: 65504): an output's square for squared loss, the
        # output itself for logits.
        self.largest = LARGEST[dtype] / _HEADROOM
        self.out_limit = np.sqrt(self.largest) if loss == "squared" else self.largest
        self.digits = digits
        self.decimal = 0.0 if digits is None else 0.5 * 10.0 ** (1 - digits)
        self.answer_roundoff = max(self.roundoff, self.decimal)
        # A reading query's isolated share outweighs the rest of the loss so far that
        # the rest, summed in the client's format, falls below the share's last bit:
        # adding it then rounds to nothing instead of to a bit of the share at each step
        # of the client's summation (the error grew with M before: 6e-7 at M = 500).
        self.dominance = max(_DOMINANCE, 16.0 / self.roundoff)
        self.rng = rng
        self.n, self.d = net.n_inputs, net.n_outputs
        self.dirs: list[np.ndarray] = []
        self.ranges: list[float] = []
        self.unit = np.inf
        self.noise = 0.0
        self.confirmed = False
        self.kappa_ = 0.0
        self.kappa_unit: float | None = None  # the unit κ was read at
        self.kappa_tried: float | None = None  # the unit κ was last read at in the chart
        self.closed = 0.0
        self.count_scale = 1.0
        self.first_scale = 1.0
        self.scale_cap = 1.0
        # The reading's state: its windows, their multiplicities and loss factors (K,),
        # the norm query's rows.
        self.windows: list[_Window] = []
        self.count = self.weight = np.zeros(0)
        self.norm_rows: np.ndarray | None = None

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
        # The in-window value brought to about 1 (the outputs take the factor), so that a
        # gate of finite weight Γ still switches off everything farther than 1/Γ.
        peak = np.maximum(np.abs(out).max(1), 1e-300)
        with np.errstate(over="ignore"):
            shrink = _power_of_two(np.minimum(reach, self.largest / peak))
        gamma, extra_mix, out = gamma / shrink, extra_mix / shrink[:, None], out * shrink[:, None]
        for i, w in enumerate(windows):
            used = 2 * len(w.dirs)
            rows[i, :used], biases[i, :used], gate[i, :used] = self.gate_rows(
                w, _GATE * reach[i] / shrink[i]
            )
        W = self.router.weights(
            np.concatenate([rows, extra], axis=1),
            np.concatenate([biases, np.zeros(extra.shape[:2])], axis=1),
            np.concatenate([gate, extra_mix], axis=1)[:, None],
            gamma[:, None],
            out[:, None],
            sides=np.array([w.side for w in windows]),
        )
        answers = self.ask(W, phase)
        # An answer past the format's range or at the client's clipping ceiling says
        # nothing of the share: NaN, for the caller to ask again at a smaller scale.
        saturated = ~np.isfinite(answers) | (answers >= self.ceiling)
        return np.where(saturated, np.nan, answers - self.closed)

    def gate_rows(self, w: _Window, wanted: float) -> tuple[np.ndarray, ...]:
        """The first-layer rows (2 D, n) and biases (2 D,) of window ``w`` (D directions),
        g_hi and g_lo on each, and their weights (2 D,) into its layer-2 unit: −Γ, Γ =
        ``wanted`` where the format holds it as one weight, else the rows are made steeper
        by a power of two (exact) instead, as far as every sample's w·a keeps them finite."""
        strength = min(wanted, self.largest)
        widest = 4.0 * max(self.ranges)
        depth = len(w.dirs)
        rows, biases = np.zeros((2 * depth, self.n)), np.zeros(2 * depth)
        for j, (direction, lo, hi) in enumerate(zip(w.dirs, w.lo, w.hi, strict=True)):
            room = self.largest * self.ranges[direction] / widest
            steep = _power_of_two(max(1.0, min(wanted / strength, room)))
            scale = steep / self.ranges[direction]
            rows[2 * j], rows[2 * j + 1] = (
                self.dirs[direction] * scale,
                -self.dirs[direction] * scale,
            )
            biases[2 * j], biases[2 * j + 1] = -hi * scale, lo * scale
        return rows, biases, np.full(2 * depth, -strength)

    def within_range(
        self, ask_rows: Callable[[np.ndarray, np.ndarray], np.ndarray], scales: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """``ask_rows(rows, scales) -> Δ`` for every row, each scale shrunk 8x where its
        answer saturated (NaN) until none does; returns Δ and the scales used."""
        scales = np.array(scales, dtype=float)
        delta = np.full(len(scales), np.nan)
        todo = np.arange(len(scales))
        for _ in range(_SHRINKS):
            got = ask_rows(todo, scales[todo])
            fine = ~np.isnan(got)
            delta[todo[fine]] = got[fine]
            todo = todo[~fine]
            if not len(todo):
                return delta, scales
            scales[todo] /= 8.0
        raise AttackError(
            f"the client's loss overflows its {self.dtype} range or its ceiling at every "
            f"output scale tried (down to {scales[todo].min():.3g} of the first)"
        )

    def reach(self, extra: np.ndarray) -> np.ndarray:
        """A bound on relu(r·a) over the samples for the extra rows (K, J, n)."""
        if extra.shape[1] == 0:
            return np.zeros(len(extra))
        return np.linalg.norm(extra, axis=2).max(1) * 4.0 * max(self.ranges, default=1.0)

    def plain(self, k: int) -> tuple[np.ndarray, np.ndarray]:
        return np.zeros((k, 0, self.n)), np.zeros((k, 0))

    @property
    def count_output(self) -> float:
        """The count pair's output o on unit 0 at scale 1 (the pair is o e_0 and −o e_0)."""
        return self.count_scale if self.loss == "squared" else _SPACING * max(self.d - 1, 1)

    def pair_share(self, scale: float | np.ndarray = 1.0) -> np.ndarray:
        """One sample's share of a count pair at ``scale``, over κ, whatever its label:
        squared, 2 o²; cross-entropy, with x = o, LSE(x, 0, …) + LSE(−x, 0, …) − 2 log d
        (the label's term cancels between the two)."""
        return self.pair_share_at(self.count_output * np.asarray(scale, dtype=float))

    def pair_share_at(self, x: float | np.ndarray) -> np.ndarray:
        """One sample's share of a count pair with outputs x e_0 and −x e_0, over κ."""
        x = np.asarray(x, dtype=float)
        if self.loss == "squared":
            return 2.0 * x**2
        rest = np.log(self.d - 1)
        return np.logaddexp(x, rest) + np.logaddexp(-x, rest) - 2.0 * np.log(self.d)

    def shares(
        self,
        windows: list[_Window],
        phase: str = "chart",
        scale: float | None = None,
        values: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
    ) -> np.ndarray:
        """Each window's share of the loss in a count pair, in units of the pair at scale
        1, and its error (2, K). The outputs start at ``scale`` (by default each window's
        own) and shrink where the answers saturate; each window keeps the scale used.
        ``values``: extra rows (K, J, n), their weights (K, J) and γ (K,) that make the
        in-window value u (default u = γ = 1)."""
        k = len(windows)
        first = np.array([w.scale for w in windows]) if scale is None else np.full(k, scale)
        if values is None:
            values = (*self.plain(k), np.ones(k))
        extra, mix, gamma = values

        def pair(rows: np.ndarray, scales: np.ndarray) -> np.ndarray:
            chosen = [windows[i] for i in rows]
            out = np.zeros((2 * len(rows), self.d))
            out[:, 0] = np.concatenate([scales, -scales]) * self.count_output
            twice = np.concatenate([rows, rows])
            both = self.query(chosen + chosen, extra[twice], mix[twice], gamma[twice], out, phase)
            return both[: len(rows)] + both[len(rows) :]

        raw, scales = self.within_range(pair, first)
        for w, used in zip(windows, scales, strict=True):
            w.scale = float(used)
        ratio = self.pair_share(1.0) / self.pair_share(scales)
        # The pair's two answers, each off by up to answer_error times itself.
        error = self.answer_error * (2.0 * abs(self.closed) + np.abs(raw))
        return np.stack([raw * ratio, error * ratio])

    # -- counts packed several windows a pair ----------------------------------------
    @property
    def count_capacity(self) -> int:
        """The largest product of (count bound + 1) one packed count pair decodes: its
        sum must stay within a tenth of one sample's smallest share, its error being the
        answers' (with the outputs' rounding and κ's, a few roundoffs) times itself."""
        if not self.pack or self.router.units < 2 or 4.0 * self.noise >= self.answer_error:
            return 1
        return int(0.05 / (self.answer_error + 8.0 * self.roundoff))

    @property
    def kappa_read(self) -> bool:
        """Whether κ was read for the unit the chart now holds."""
        return self.near_unit(self.kappa_unit)

    def near_unit(self, unit: float | None) -> bool:
        """Whether ``unit`` is the chart's unit (which shrinks when windows thought single
        held two samples, and moves by rounding otherwise)."""
        return unit is not None and abs(unit - self.unit) <= 0.1 * self.unit

    def packable(self) -> bool:
        """Whether counts may be packed now: one sample's share confirmed, and κ read to
        the format's roundoff from single-sample windows."""
        return self.confirmed and self.count_capacity >= 4 and self.kappa_read

    def count_windows(self, windows: list[_Window], bounds: list[int]) -> None:
        """Set every window's share and error: packed where its count bound (its
        parent's count) allows, by one count pair per pack (:meth:`packed_shares`), the
        rest, and every pack that did not decode, one window a pair (:meth:`shares`)."""
        single: list[_Window] = []
        packs: list[list[int]] = []
        if self.packable():
            order = sorted(range(len(windows)), key=lambda i: bounds[i])
            pack: list[int] = []
            product, rows = 1, 0
            for i in order:
                depth = 2 * len(windows[i].dirs)
                grown = product * (bounds[i] + 1)
                if pack and (
                    grown > self.count_capacity
                    or rows + depth > self.router.rows
                    or len(pack) >= self.router.units
                ):
                    packs.append(pack)
                    pack, grown, rows = [], bounds[i] + 1, 0
                if grown > self.count_capacity:
                    single.append(windows[i])
                    continue
                pack.append(i)
                product, rows = grown, rows + depth
            if pack:
                packs.append(pack)
        else:
            single = list(windows)
        lone = [p for p in packs if len(p) == 1]
        single += [windows[p[0]] for p in lone]
        packs = [p for p in packs if len(p) > 1]
        for pack, counts in zip(packs, self.packed_shares(windows, bounds, packs), strict=True):
            if counts is None:
                single += [windows[i] for i in pack]
                continue
            for i, c in zip(pack, counts, strict=True):
                windows[i].share, windows[i].error = float(c) * self.unit, 0.0
        if single:
            for window, (share, error) in zip(single, self.shares(single).T, strict=True):
                window.share, window.error = float(share), float(error)

    def packed_shares(
        self, windows: list[_Window], bounds: list[int], packs: list[list[int]]
    ) -> list[np.ndarray | None]:
        """The counts of each pack's windows (None where the pack did not decode), all
        packs in one batch of count pairs. Window j of a pack gates unit j of layer 2,
        whose output x_j makes one sample's share S_j = κ P(x_j) the mixed-radix weight
        Π_{i<j} (C_i + 1) S_0 (C_i the bounds); Δ = Σ c_j S_j is decoded digit by digit
        from the top, each digit within its bound and the last within a quarter of an
        integer, or not at all."""
        if not packs:
            return []
        kappa = self.kappa_
        # S_0 keeps the pair's error (answer_error times 2 closed + the sum) under a
        # tenth of itself, the sum under its capacity.
        least = 40.0 * self.answer_error * abs(self.closed) / kappa
        x0 = float(self.invert_pair_share(np.array([max(least, 1e-300)]))[0])
        outs, weights = [], []
        for pack in packs:
            radix = np.cumprod([1] + [bounds[i] + 1 for i in pack[:-1]]).astype(float)
            x = in_format(self.invert_pair_share(radix * self.pair_share_at(x0)), self.dtype)
            outs.append(x)
            weights.append(kappa * self.pair_share_at(x))
        # A pack whose outputs or sum would leave the format's range or pass the
        # client's ceiling is read one window a pair.
        fits = [
            float(x.max()) <= self.out_limit
            and float(w @ [bounds[i] for i in pack]) <= self.headroom / 2.0
            for x, w, pack in zip(outs, weights, packs, strict=True)
        ]
        asked = [q for q in range(len(packs)) if fits[q]]
        decoded: list[np.ndarray | None] = [None] * len(packs)
        if not asked:
            return decoded
        packs, outs = [packs[q] for q in asked], [outs[q] for q in asked]
        k = len(packs)
        units = max(len(p) for p in packs)
        depth = 2 * max(sum(len(windows[i].dirs) for i in p) for p in packs)
        rows = np.zeros((2 * k, depth, self.n))
        biases = np.zeros((2 * k, depth))
        mix = np.zeros((2 * k, units, depth))
        gamma = np.zeros((2 * k, units))
        out = np.zeros((2 * k, units, self.d))
        for q, pack in enumerate(packs):
            at = 0
            for j, i in enumerate(pack):
                r, b, g = self.gate_rows(windows[i], _GATE)
                used = slice(at, at + len(r))
                for half in (q, q + k):
                    rows[half, used], biases[half, used], mix[half, j, used] = r, b, g
                    gamma[half, j] = 1.0
                out[q, j, 0], out[q + k, j, 0] = outs[q][j], -outs[q][j]
                at += len(r)
        answers = self.ask(self.router.weights(rows, biases, mix, gamma, out), "chart")
        saturated = ~np.isfinite(answers) | (answers >= self.ceiling)
        total = answers[:k] + answers[k:] - 2.0 * self.closed
        for q, (at, pack) in enumerate(zip(asked, packs, strict=True)):
            if not (saturated[q] or saturated[q + k]):
                decoded[at] = self.decode_counts(total[q], weights[at], [bounds[i] for i in pack])
        return decoded

    @staticmethod
    def decode_counts(total: float, weights: np.ndarray, bounds: list[int]) -> np.ndarray | None:
        """Counts c (P,) with Σ c_j weights_j = total, each at most its bound, read from
        the top digit down; None unless the last digit lands within a quarter of an
        integer and every digit within its bound."""
        counts = np.zeros(len(weights), dtype=int)
        rest = float(total)
        for j in range(len(weights) - 1, 0, -1):
            c = int(np.floor((rest + 0.5 * weights[0]) / weights[j]))
            if not 0 <= c <= bounds[j]:
                return None
            counts[j], rest = c, rest - c * weights[j]
        last = rest / weights[0]
        if abs(last - round(last)) > _COUNT_TOL or not 0 <= round(last) <= bounds[0]:
            return None
        counts[0] = round(last)
        return counts

    def invert_pair_share(self, target: np.ndarray) -> np.ndarray:
        """The outputs x >= 0 (K,) whose pair share over κ is ``target`` (K,)."""
        target = np.asarray(target, dtype=float)
        if self.loss == "squared":
            return np.sqrt(target / 2.0)
        lo, hi = np.zeros_like(target), np.full_like(target, 1.0)
        while np.any(self.pair_share_at(hi) < target):
            hi = np.where(self.pair_share_at(hi) < target, 2.0 * hi, hi)
        for _ in range(80):
            middle = 0.5 * (lo + hi)
            below = self.pair_share_at(middle) < target
            lo, hi = np.where(below, middle, lo), np.where(below, hi, middle)
        return hi

    # -- the chart -------------------------------------------------------------------
    def new_direction(self, within: _Window | None, side: float = 1.0) -> int:
        """A random unit direction, and the range of the samples' projections on it
        (inside ``within``, else on the anchor's ``side``): the smallest of the spans
        tried that holds them all."""
        w = self.rng.normal(size=self.n)
        w /= np.linalg.norm(w)
        base = within or _Window([], [], [], scale=self.first_scale, side=side)
        spans = 10.0 ** np.arange(-6.0, 13.0)
        # The rows w / span and every sample's w·a / span must stay finite in the client's
        # format: large spans first, then the small ones the first batch shows are safe.
        bound = 4.0 * max(self.ranges, default=1.0)
        large = spans[(spans >= 1.0) & (spans >= bound / self.largest)]
        shares = self.span_shares(w, base, large)
        full = shares[-1]
        tolerance = max(1e-6 * abs(full), 4.0 * self.floor(full))
        enough = np.flatnonzero(np.abs(shares - full) <= tolerance)
        span = float(large[enough[0]]) if len(enough) else float(large[-1])
        if span == large[0]:
            small = spans[(spans < span) & (spans >= max(span, bound) / self.largest)]
            if len(small):
                shares = self.span_shares(w, base, small)
                enough = np.flatnonzero(np.abs(shares - full) <= tolerance)
                if len(enough):
                    span = float(small[enough[0]])
        self.dirs.append(w)
        self.ranges.append(span)
        return len(self.dirs) - 1

    def span_shares(self, w: np.ndarray, base: _Window, spans: np.ndarray) -> np.ndarray:
        """The share of (−span, span) along ``w`` inside ``base``, for every span in one
        batch (each span its own direction entry, so its own row scale, for now)."""
        index = len(self.dirs)
        self.dirs += [w] * len(spans)
        self.ranges += [float(span) for span in spans]
        windows = [base.deeper(index + i, -span, span) for i, span in enumerate(spans)]
        try:
            return self.shares(windows, "range")[0]
        finally:
            del self.dirs[index:], self.ranges[index:]

    def top_window(self, side: float = 1.0) -> _Window | None:
        """The window of every sample (bias-free: on the anchor's ``side``), along a
        first random direction, with its share; None when no sample's share shows."""
        top_dir = self.new_direction(None, side)
        span = self.ranges[top_dir]
        top = _Window([top_dir], [-span], [span], scale=self.first_scale, side=side)
        top.share, top.error = (float(v) for v in self.shares([top])[:, 0])
        return top if top.share > top.error else None

    def chart(self, n_samples: int | None) -> list[_Window]:
        """Windows of one sample each, or of duplicates."""
        top = self.top_window()
        if top is None:
            self.warnings.append(_NOTHING)
            return []
        if n_samples is not None:
            self.unit = top.share / n_samples
        return self.refine([top], known=n_samples is not None)

    def refine(self, leaves: list[_Window], known: bool) -> list[_Window]:
        """Split ``leaves`` level by level, all windows of a level in one batch, until
        each holds one sample or duplicates (``known``: one sample's share is known)."""
        if not leaves:
            return []
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
            self.read_kappa_early(leaves)
            spent += len(todo)
            leaves = rest + self.split(todo)
        else:
            self.warnings.append(f"windows were still unsplit after {_LEVELS} levels")
        return self.settle(leaves)

    def read_kappa_early(self, leaves: list[_Window]) -> None:
        """κ read as soon as enough single-sample windows are known, where counts can be
        packed: their decoding weighs each window by κ times its output's share."""
        if not self.confirmed or self.count_capacity < 4 or self.kappa_read:
            return
        singles = sum(round(w.share / self.unit) == 1 for w in leaves)
        if singles < _KAPPA_WINDOWS or self.near_unit(self.kappa_tried):
            return
        self.kappa_tried = self.unit
        kappa = self.kappa(leaves)
        # Read at a larger scale, one sample's share must be the chart's unit; where it
        # is not, the counts are not packed (the windows are then not what they seem).
        if abs(kappa * float(self.pair_share(1.0)) - self.unit) <= _DERIVED * self.unit:
            self.kappa_, self.kappa_unit = kappa, self.unit

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

    def cut(self, w: _Window, jitter: bool = True) -> float | None:
        """Where to split ``w`` along its last direction: near its middle (farther off
        after a cut that ran through a sample, or exactly there without ``jitter``), at a
        bias the client's format holds; None if the window is below the client's
        resolution there or keeps being cut through samples."""
        scale = self.ranges[w.dirs[-1]]
        if w.width <= 64.0 * self.wobble * scale or w.recuts >= _RECUTS:
            return None

        def held(cut: float) -> float | None:
            cut = float(in_format(cut / scale, self.dtype)) * scale
            return cut if w.lo[-1] < cut < w.hi[-1] else None

        middle = held(0.5 * (w.lo[-1] + w.hi[-1]))
        if not jitter or middle is None:
            return middle
        spread = 1e-3 if not w.recuts else 0.3
        return held(middle + spread * w.width * self.rng.uniform(-1.0, 1.0)) or middle

    def room(self, w: _Window) -> bool:
        """Whether ``w`` can be charted along one more direction."""
        rows = 2 * (len(w.dirs) + 1) + 2
        return len(w.dirs) < _DIRECTIONS and rows <= self.router.rows

    def splittable(self, w: _Window) -> bool:
        """Cut along its direction, or room for another direction (when the window's
        count is precise enough to say it holds several)."""
        if self.cut(w, jitter=False) is not None:
            return True
        return self.room(w) and w.error <= 0.25 * self.unit_guess(w)

    def split(self, windows: list[_Window]) -> list[_Window]:
        """Split every window near its middle, all in one batch (a window that cannot be
        cut along its direction is charted along a new direction inside it instead). A
        split whose halves do not count whole samples ran through one: it is undone,
        and the window cut elsewhere next time."""
        children, wide, lefts, rights = self.halves(windows, [self.cut(w) for w in windows])
        if not wide:
            return children
        # A right half is the parent's share minus the left's, unless the parent's own
        # error would then blur a count, or a sample may sit exactly on the cut (then it
        # is in both halves): then it is asked too, and the halves must add up.
        coarse = [
            r
            for p, r in zip(wide, rights, strict=True)
            if p.error > _DERIVED * self.unit_guess(p) or self.tie_risk(p)
        ]
        asked = lefts + coarse
        parents = {id(r): p for p, r in zip(wide, rights, strict=True)}
        parents.update({id(left): p for p, left in zip(wide, lefts, strict=True)})
        bounds = [round(parents[id(w)].share / self.unit) if self.packable() else 0 for w in asked]
        self.count_windows(asked, bounds)
        for parent, left, right in zip(wide, lefts, rights, strict=True):
            added_up = True
            if not any(right is r for r in coarse):
                right.share = parent.share - left.share
                right.error = parent.error + left.error
            else:
                slack = 0.5 * self.unit + parent.error + left.error + right.error
                added_up = abs(left.share + right.share - parent.share) <= slack
            whole = self.whole(left) and self.whole(right)
            if (
                self.confirmed
                and not (whole and added_up)
                and not self.smaller_unit(parent, left, right)
            ):
                parent.recuts += 1
                children.append(parent)
                continue
            for child in (left, right):
                if child.share > max(child.error, 0.25 * self.unit if self.confirmed else 0.0):
                    children.append(child)
        return children

    def halves(
        self, windows: list[_Window], cuts: list[float | None]
    ) -> tuple[list[_Window], list[_Window], list[_Window], list[_Window]]:
        """The windows that cannot be cut, each along a new direction inside it, and for
        the others (the parents) their left and right parts at their cuts."""
        children, wide, lefts, rights = [], [], [], []
        for w, cut in zip(windows, cuts, strict=True):
            if cut is None:
                deeper = self.new_direction(w)
                span = self.ranges[deeper]
                children.append(w.deeper(deeper, -span, span))
            else:
                wide.append(w)
                lefts.append(w.narrowed(w.lo[-1], cut, self.scale_cap))
                rights.append(w.narrowed(cut, w.hi[-1], self.scale_cap))
        return children, wide, lefts, rights

    def smaller_unit(self, *windows: _Window) -> bool:
        """Whether the windows' shares are whole numbers of a smaller unit, the smallest
        of them less than the unit thought: one sample's share is then smaller than that
        (with M unknown, windows of two samples can look like one's), not a sample cut."""
        holding = [w for w in windows if w.share > w.error]  # an empty window tells nothing
        if not holding:
            return False
        least = min(holding, key=lambda w: w.share)
        if not (least.error <= 0.1 * least.share and least.share < (1 - _COUNT_TOL) * self.unit):
            return False
        return all(
            abs(w.share / least.share - round(w.share / least.share)) <= _COUNT_TOL
            for w in windows
            if w.error <= 0.1 * least.share
        )

    def tie_risk(self, w: _Window) -> bool:
        """Whether a sample of ``w`` may project exactly onto a cut: the cuts are numbers
        of the client's format, spaced by its roundoff times their size, and data on a
        grid projects onto such numbers often when that spacing is not small against
        the window's width over its count."""
        edge = max(abs(w.lo[-1]), abs(w.hi[-1]))
        count = max(w.share / self.unit_guess(w), 1.0)
        return bool(count * 2.0 * self.roundoff * edge >= 1e-3 * w.width)

    def whole(self, w: _Window) -> bool:
        """Whether ``w``'s share is a whole number of samples, as far as its error says."""
        if w.error > 0.1 * self.unit:
            return True
        count = w.share / self.unit
        return abs(count - round(count)) <= _COUNT_TOL

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
            elif round(count) == 0:
                continue  # a sliver of share that is no sample: nothing in it
            elif round(count) >= 2 and self.splittable(w):
                self.warnings.append(
                    f"a window of {round(count)} samples could not be split further: left out"
                )
            else:
                kept.append(w)
        return kept

    # -- the chart without biases ------------------------------------------------------
    def chart_weighted(self, leaves: list[_Window], phase: str = "chart") -> list[_Window]:
        """Bias-free: a sample's share goes as t² (t = u0·a), so shares count nothing.
        Each window's samples' positions along its direction are weighed instead
        (:meth:`moments`): a window whose positions spread is cut at their mean, which
        parts any two distinct samples the answers can tell apart. One whose positions
        do not spread is read, unless the answers blur positions by more than _BLUR of
        its half-width: then it is cut _STABLE times at random points within a blur of
        the mean (never at the mean, where its one sample would lie on the cut); a cut
        that leaves both parts holding sends them back to the moments. Samples closer
        than that are caught by :meth:`alone`."""
        done: list[_Window] = []
        spent, start = 0, len(leaves)
        for _ in range(_LEVELS):
            fits = [w.stable < _STABLE and self.splittable(w) for w in leaves]
            todo = [w for w, fit in zip(leaves, fits, strict=True) if fit]
            done += [w for w, fit in zip(leaves, fits, strict=True) if not fit]
            if not todo:
                return done
            if spent > _CHART_BUDGET * max(len(done) + len(todo), start) + 1000:
                self.warnings.append(
                    "the chart does not settle (noisy answers?): reading the windows it has"
                )
                return done + todo
            split = [w for w in todo if w.blur > 0.0]
            cuts = [self.probe_cut(w) for w in split]
            loose = [w for w in todo if w.blur == 0.0]
            if loose:
                mean, spread, blur = self.moments(loose, phase)
                for w, m, spreads, b in zip(loose, mean, spread, blur, strict=True):
                    if spreads:
                        split.append(w)
                        cuts.append(self.mean_cut(w, float(m)))
                    elif b <= _BLUR * 0.5 * w.width:
                        done.append(w)
                    else:
                        w.centre, w.blur = float(m), float(b)
                        split.append(w)
                        cuts.append(self.probe_cut(w))
                spent += 4 * len(loose)
            spent += len(split)
            leaves = self.split_weighted(split, cuts, phase)
        self.warnings.append(f"windows were still unsplit after {_LEVELS} levels")
        return done + leaves

    def probe_cut(self, w: _Window) -> float | None:
        """A cut at a random point between a quarter and one blur away from the mean of
        a window whose positions showed no spread (None where the window cannot be cut
        or the point is off it)."""
        if self.cut(w, jitter=False) is None:
            return None
        scale = self.ranges[w.dirs[-1]]
        offset = self.rng.uniform(0.25, 1.0) * self.rng.choice([-1.0, 1.0]) * w.blur
        cut = float(in_format((w.centre + offset) / scale, self.dtype)) * scale
        return cut if w.lo[-1] < cut < w.hi[-1] else self.cut(w)

    def moments(
        self, windows: list[_Window], phase: str
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Bias-free, squared loss: the share-weighted mean position of each window's
        samples along its last direction (K,), whether their positions spread beyond
        what the answers can tell from none (K,), and the spread they cannot tell (the
        blur, K,). With u = 1 + α (r − c) in the window (r = the direction · â, c its
        centre, α = 2 / its width), a count pair's share is S(α) = M0 + 2α M1 + α² M2,
        M_j = Σ_i share_i (r_i − c)^j: S(α) and S(−α) give M1 and M2, and one sample's
        positions have variance M2/M0 − (M1/M0)² = 0. The client rounds u's terms
        (1 − αc and α r) to a few roundoffs of |c| + half: far from 0 a narrow window's
        blur is mostly that."""
        k = len(windows)
        centre = np.array([0.5 * (w.lo[-1] + w.hi[-1]) for w in windows])
        half = np.array([0.5 * w.width for w in windows])
        alpha = 1.0 / half
        rows = np.zeros((k, 2, self.n))
        for i, w in enumerate(windows):
            rows[i, 0], rows[i, 1] = self.dirs[w.dirs[-1]], -self.dirs[w.dirs[-1]]
        sign = np.concatenate([np.ones(k), -np.ones(k)])
        slope = np.concatenate([alpha, alpha]) * sign
        values = (
            np.concatenate([rows, rows]),
            slope[:, None] * np.array([1.0, -1.0]),
            1.0 - slope * np.concatenate([centre, centre]),
        )
        share, error = self.shares(windows + windows, phase, values=values)
        plus, minus, e_plus, e_minus = share[:k], share[k:], error[:k], error[k:]
        m0 = np.array([w.share for w in windows])
        e0 = np.array([w.error for w in windows])
        mean = (plus - minus) / (4.0 * alpha * m0)
        second = (plus + minus - 2.0 * m0) / (2.0 * alpha**2 * m0)
        e_mean = (e_plus + e_minus) / (4.0 * alpha * m0) + np.abs(mean) * e0 / m0
        e_second = (e_plus + e_minus + 2.0 * e0) / (2.0 * alpha**2 * m0) + np.abs(second) * e0 / m0
        variance = second - mean**2
        # The client's rounding of u's terms (1 − αc and α r) moves each position by
        # a few roundoffs of |c| + half.
        rounding = 16.0 * self.wobble * (np.abs(centre) + half) * half
        tolerance = 4.0 * (e_second + 2.0 * np.abs(mean) * e_mean) + rounding
        return centre + mean, variance > tolerance, np.sqrt(tolerance)

    def mean_cut(self, w: _Window, mean: float) -> float | None:
        """Where to cut ``w``: at its samples' mean position, at a number the client's
        format holds and inside the window (its middle after a cut that ran through a
        sample, or if the mean is off the window); None if it cannot be cut."""
        middle = self.cut(w)
        if middle is None or w.recuts or not w.lo[-1] < mean < w.hi[-1]:
            return middle
        scale = self.ranges[w.dirs[-1]]
        cut = float(in_format(mean / scale, self.dtype)) * scale
        return cut if w.lo[-1] < cut < w.hi[-1] else middle

    def split_weighted(
        self, windows: list[_Window], cuts: list[float | None], phase: str
    ) -> list[_Window]:
        """Split every window at its cut, all in one batch (along a new direction where
        it has none); a part whose share is within twice its error of nothing holds
        nothing. The right part is the parent's share minus the left's, or asked where
        that would blur it or a sample may sit on the cut; then the parts must add up to
        the parent, or the cut ran through a sample and the window is cut elsewhere."""
        children, wide, lefts, rights = self.halves(windows, cuts)
        coarse = [
            r
            for p, r in zip(wide, rights, strict=True)
            if p.error > _DERIVED * p.share or self.tie_risk(p)
        ]
        asked = lefts + coarse
        if asked:
            for window, (share, error) in zip(asked, self.shares(asked, phase).T, strict=True):
                window.share, window.error = float(share), float(error)
        for parent, left, right in zip(wide, lefts, rights, strict=True):
            if not any(right is r for r in coarse):
                right.share = parent.share - left.share
                right.error = parent.error + left.error
            else:
                slack = 4.0 * (parent.error + left.error + right.error)
                if abs(left.share + right.share - parent.share) > slack:
                    parent.recuts += 1
                    children.append(parent)
                    continue
            held = [c for c in (left, right) if c.share > 2.0 * c.error]
            if parent.blur > 0.0 and len(held) == 1:
                # A window probed near its mean that kept all its share on one side:
                # one probe more in a row. Any other part goes back to the moments.
                child = held[0]
                child.centre, child.blur, child.stable = (
                    parent.centre,
                    parent.blur,
                    parent.stable + 1,
                )
            children += held
        return children

    def sample_weights(self, windows: list[_Window]) -> tuple[np.ndarray, np.ndarray]:
        """Bias-free: each window's factor κ t² (K,) and its error, asked afresh at
        outputs that make the window's share outweigh the rest of the loss
        :attr:`dominance` times; a few are asked twice, and must agree (a loss that is no
        function of the weights is named, never read)."""
        for w in windows:
            w.scale = self.dominant_scale(max(w.share, 1e-300))
        few = windows[:_KAPPA_WINDOWS]
        share, error = self.shares(windows + few, "weights")
        k, j = len(windows), len(few)
        self.check_consistent(share[:j], share[k:], 4.0 * (error[:j] + error[k:]))
        one = float(self.pair_share(1.0))
        return share[:k] / one, error[:k] / one

    def alone(
        self,
        windows: list[_Window],
        inputs: np.ndarray,
        errors: np.ndarray,
        weight: np.ndarray,
        weight_error: np.ndarray,
    ) -> np.ndarray:
        """Bias-free: whether each window holds just the sample read from it (K,), its
        error bounds ``errors`` widened by what a sample too small to show could move
        the reading. The window is narrowed, along up to _ALONE fresh random directions
        at once, to slabs around the read sample's projections (as wide as its error
        bound, and the client's resolution); one sample keeps its whole share there. A
        window that held two reads a blend of them, which projects where neither lies:
        the share falls."""
        ok = np.all(np.isfinite(inputs) & np.isfinite(errors), axis=1)
        read = np.flatnonzero(ok)
        if not len(read):
            return ok
        depth = max(len(windows[i].dirs) for i in read)
        fresh = min(_ALONE, self.router.rows // 2 - depth)
        if fresh < 1:
            self.warnings.append(
                "no room in the first layer to check that a window holds one sample: "
                "none is returned"
            )
            return np.zeros(len(windows), dtype=bool)
        a, bounds = inputs[read], errors[read]
        narrow = [windows[i] for i in read]
        for _ in range(fresh):
            direction = self.rng.normal(size=self.n)
            direction /= np.linalg.norm(direction)
            projection = a @ direction
            reach = max(float(np.abs(projection).max()) * 1.01, 1e-300)
            span = float(10.0 ** np.ceil(np.log10(reach)))
            self.dirs.append(direction)
            self.ranges.append(span)
            index = len(self.dirs) - 1
            half = 4.0 * (bounds @ np.abs(direction)) + 64.0 * self.wobble * span
            # A slab as wide as the samples' spread checks nothing.
            ok[read] &= half <= 0.1 * span
            half = np.minimum(half, span)
            narrow = [
                w.deeper(index, float(p - h), float(p + h))
                for w, p, h in zip(narrow, projection, half, strict=True)
            ]
        share, error = self.shares(narrow, "alone")
        one = float(self.pair_share(1.0))
        expected, slack = weight[read] * one, 4.0 * (error + weight_error[read] * one)
        ok[read] &= np.abs(share - expected) <= slack
        # A second sample with less than this share of the window's would go unseen; it
        # moves the blend read by at most about that share of the coordinates' spread.
        unseen = np.ones(len(windows))
        unseen[read] = slack / expected
        largest = np.abs(np.where(np.isfinite(inputs), inputs, 0.0)).max(1)
        errors += (2.0 * unseen * largest)[:, None]
        return ok

    # -- readouts --------------------------------------------------------------------
    def kappa(self, windows: list[_Window]) -> float:
        """κ from one sample's share in a count pair, asked afresh of a few single-sample
        windows (the chart's shares of most windows are differences, with their parents'
        rounding in them)."""
        singles = [w for w in windows if round(w.share / self.unit) == 1][:_KAPPA_WINDOWS]
        if not singles:
            return self.unit / float(self.pair_share(1.0))
        # κ then carries the format's roundoff, not the closed loss's.
        scale = self.dominant_scale(self.unit)
        first, first_error = self.shares(singles, "kappa", scale)
        again, again_error = self.shares(singles, "kappa", scale)
        self.check_consistent(first, again, 4.0 * (first_error + again_error))
        unit = float(np.median(first))
        return unit / float(self.pair_share(1.0))

    def dominant_scale(self, share: float) -> float:
        """The count pair's output scale (a power of two, within the format's range) at
        which a window of ``share`` (at scale 1) outweighs the rest of the loss
        :attr:`dominance` times."""
        ratio = self.dominance * max(abs(self.closed), 1e-300) / share
        scale = max(1.0, np.sqrt(ratio) if self.loss == "squared" else ratio)
        return float(_power_of_two(min(scale, self.out_limit / self.count_output)))

    @staticmethod
    def check_consistent(first: np.ndarray, again: np.ndarray, tolerance: np.ndarray) -> None:
        """Raise unless one sample's share, asked twice with the same weights, came back
        the same within ``tolerance`` (the answers' error, their measured noise in it):
        a loss that is not a function of the weights is named, never read."""
        apart = np.abs(first - again)
        if np.all(apart <= tolerance):
            return
        worst = int(np.argmax(apart / np.maximum(np.abs(first), 1e-300)))
        raise AttackError(
            "the client's answers disagree with themselves: one sample's share of the "
            f"loss came back as {first[worst]:.6g} and then {again[worst]:.6g} for the same "
            "weights, far beyond the noise the repeated zero-weight answers showed. Its "
            "loss is not a fixed function of the weights: a model left in training mode "
            "(dropout), a data loader that reshuffles batches of unequal sizes, or a "
            "model that changes between calls"
        )

    def su(self, delta: np.ndarray, weight: np.ndarray, label: np.ndarray | None) -> np.ndarray:
        """s u >= 0 from Δ and the window's factor (count times κ): squared loss with
        o = −sign(b_0) s e_0 (label = b_0), whose share (su)² + 2 su |b_0| has one
        nonnegative root whatever s, or cross-entropy with o = s e_j, j not the class."""
        per = delta / weight
        if self.loss == "squared":
            assert label is not None
            return -np.abs(label) + np.sqrt(np.maximum(label**2 + per, 0.0))
        x = per + np.log(self.d)
        return x + np.log1p(-(self.d - 1) * np.exp(-np.clip(x, 0.0, 700.0)))

    def read_values(
        self,
        pick: np.ndarray,
        extra: np.ndarray,
        mix: np.ndarray,
        gamma: np.ndarray,
        u_scale: float | np.ndarray,
        phase: str,
        u_max: float | np.ndarray | None = None,
        terms: Callable[[np.ndarray], np.ndarray] | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """u (K,) of the isolated samples ``pick`` (indices into the windows), whose size is
        about ``u_scale`` and at most ``u_max`` (default 4 ``u_scale``), and a bound on its
        error: the answer's (:attr:`answer_error`) carried to u, and 2 roundoffs of u's
        terms, whose magnitudes add up to ``terms(u)`` (u by default). The output scale
        makes the sample's share dominate the loss, as far as the format's range allows."""
        windows = [self.windows[i] for i in pick]
        count, weight = self.count[pick], self.weight[pick]
        k = len(windows)
        label = None
        if self.loss == "squared":
            label = self.labels[pick, 0]
            s = np.sqrt(self.dominance * max(self.closed, self.unit) / weight)
            s = np.maximum(s, self.dominance * (1.0 + np.abs(label))) / u_scale
        else:
            s = self.dominance * max(self.closed / self.kappa_, 1.0) / count / u_scale
        largest = 4.0 * np.asarray(u_scale) if u_max is None else np.asarray(u_max)
        s = np.minimum(s, self.out_limit / largest)
        # Under a ceiling, the share may fill half the room between the loss and it.
        room = self.headroom / (2.0 * weight)
        s = np.minimum(s, (np.sqrt(room) if self.loss == "squared" else room) / largest)
        s = np.broadcast_to(_power_of_two(s), (k,))
        column = np.zeros(k, dtype=int) if self.loss == "squared" else self.other[pick]
        sign = np.ones(k) if label is None else np.where(label > 0, -1.0, 1.0)

        def value(rows: np.ndarray, scales: np.ndarray) -> np.ndarray:
            out = np.zeros((len(rows), self.d))
            out[np.arange(len(rows)), column[rows]] = sign[rows] * scales
            chosen = [windows[i] for i in rows]
            return self.query(chosen, extra[rows], mix[rows], gamma[rows], out, phase)

        delta, s = self.within_range(value, s)
        error = self.answer_error * (abs(self.closed) + np.abs(delta))
        # No share at all is u = 0; then u is at most what would have shown as ``error``.
        nothing = np.abs(delta) <= error
        su = np.where(nothing, 0.0, self.su(delta, weight, label))
        # The answer's error carried to u through the slope of Δ in su, the rounding of
        # u's own terms inside the network (``terms``, their magnitudes' sum in units of
        # u) and that of the decoding.
        slope = weight
        if self.loss == "squared":
            assert label is not None
            slope = slope * 2.0 * (su + np.abs(label))
        else:
            slope = slope * np.exp(-np.logaddexp(0.0, np.log(self.d - 1) - su))
        carried = error / np.maximum(slope, 1e-300) / s
        spread = 2.0 * self.roundoff * (np.abs(su / s) if terms is None else terms(su / s))
        du = np.where(nothing, self.su(error, weight, label) / s, carried + spread)
        return su / s, du + 4.0 * ROUNDOFF["float64"] * np.abs(su / s)

    @property
    def answer_error(self) -> float:
        """A bound on an answer's error relative to the loss: 16 unit roundoffs of the
        format it accumulates in (a sum of many terms), one of the format it is returned
        in (two roundings to nearest, of each sample's loss and of their sum), 2 units in
        its last decimal digit, 4 standard deviations of its noise."""
        return max(16.0 * self.wobble, self.roundoff, 2.0 * self.decimal, 4.0 * self.noise)

    @property
    def range_limited(self) -> bool:
        """Whether the format's largest number or the client's ceiling, not the loss's
        own size, limits the output scale of a coordinate read with the smallest bound R
        (float16; a clipped loss)."""
        room = self.headroom / (2.0 * self.kappa_)
        if self.loss == "squared":
            wanted = max(np.sqrt(self.dominance * abs(self.closed) / self.kappa_), self.dominance)
            limit = min(self.out_limit, np.sqrt(room))
        else:
            wanted = self.dominance * max(abs(self.closed) / self.kappa_, 1.0)
            limit = min(self.out_limit, room)
        return bool(wanted * (1.0 + 1.0 / _LEAST_SHARE) > limit)

    def read_labels(self) -> None:
        """Squared loss: every output of every sample; cross-entropy: each one's class."""
        windows, weight = self.windows, self.weight
        k = len(windows)
        extra, mix = self.plain(k)
        gamma = np.ones(k)
        self.label_bounds = np.zeros((k, self.d))  # cross-entropy classes: exact or dropped
        if self.loss == "squared":
            self.labels = np.zeros((k, self.d))
            everyone = np.arange(k)
            pilot = everyone[:_LABEL_PILOT] if self.pack else everyone
            for m in range(self.d):
                self.read_output(m, pilot)
            if len(pilot) < k:
                self.label_grid = pack_grid(self.labels[pilot], self.label_bounds[pilot])
            rest = everyone[len(pilot) :]
            if self.label_grid is None:
                for m in range(self.d):
                    self.read_output(m, rest)
            elif len(rest):
                self.read_outputs_packed(rest, self.label_grid)
            return
        # Logits spaced by _SPACING times a spread that keeps the answers' noise a small
        # share of one spacing.
        spread = max(1.0, 16.0 * max(self.noise, self.answer_roundoff) * self.closed / self.kappa_)
        highest = min(self.out_limit, self.headroom / (2.0 * float(weight.max())))
        spread = float(_power_of_two(min(spread, highest / (_SPACING * (self.d - 1)))))
        steps = _SPACING * np.arange(self.d)[::-1]

        def spaced(rows: np.ndarray, spreads: np.ndarray) -> np.ndarray:
            chosen = [windows[i] for i in rows]
            out = spreads[:, None] * steps
            return self.query(chosen, extra[rows], mix[rows], gamma[rows], out, "labels")

        delta, spreads = self.within_range(spaced, np.full(k, spread))
        scale = weight * spreads * _SPACING
        blur = self.answer_error * (abs(self.closed) + np.abs(delta)) / scale
        # Noisy answers: a position blurred past 0.05 is asked again and averaged.
        times = np.ceil((blur / 0.05) ** 2) - 1.0
        again = np.flatnonzero((times >= 1) & (4.0 * self.noise >= self.answer_error))
        if len(again):
            times = np.minimum(times[again], 2 * _NOISE_READS)
            total = delta[again].copy()
            for r in range(1, int(times.max()) + 1):
                rows = again[times >= r]
                total[times >= r] += spaced(rows, spreads[rows])
            delta[again] = total / (times + 1.0)
        position = (delta / weight + np.log(self.d)) / (spreads * _SPACING)
        self.classes = np.round(position).astype(int)
        self.class_ok = (np.abs(position - self.classes) < 0.1) & (self.classes >= 0)
        self.class_ok &= self.classes < self.d
        self.classes = np.clip(self.classes, 0, self.d - 1)
        self.other = (self.classes + 1) % self.d
        self.labels = np.eye(self.d)[self.classes]

    def read_output(self, m: int, rows: np.ndarray) -> None:
        """Squared loss: output m of the samples ``rows`` into the labels, o = s e_m:
        Δ = c κ (s² − 2 s b_m)."""
        if not len(rows):
            return
        windows = [self.windows[i] for i in rows]
        weight = self.weight[rows]
        extra, mix = self.plain(len(rows))
        gamma = np.ones(len(rows))

        def output(picked: np.ndarray, scales: np.ndarray) -> np.ndarray:
            out = np.zeros((len(picked), self.d))
            out[:, m] = scales
            chosen = [windows[i] for i in picked]
            return self.query(chosen, extra[picked], mix[picked], gamma[picked], out, "labels")

        first = np.sqrt(max(self.closed, 1e-300) / weight)
        room = np.sqrt(self.headroom / (2.0 * weight))
        first = _power_of_two(np.minimum(np.minimum(first, room), self.out_limit))
        delta, s = self.within_range(output, first)
        self.labels[rows, m] = (s - delta / (weight * s)) / 2.0
        error = self.answer_error * (abs(self.closed) + np.abs(delta))
        # s is a power of two (exact in the client's format); the rest is the
        # answer's error and the decoding's.
        decoding = 4.0 * ROUNDOFF["float64"] * (s + np.abs(self.labels[rows, m]))
        self.label_bounds[rows, m] = (error / (weight * s) + decoding) / 2.0

    def read_outputs_packed(self, rows: np.ndarray, grid: PackGrid) -> None:
        """Squared loss, labels on ``grid`` (one-hot rows: 0 and 1): P outputs of the
        samples ``rows`` in one query, o_m = s ω_j on them (:func:`packing.weights`),
        Δ = c κ (Σ o_m² − 2 Σ o_m b_m) giving u = γ + Σ ω_j b_{m_j} to decode; the
        outputs whose answer does not decode are read one a query."""
        weight = self.weight[rows]
        least = float(weight.min())
        extra, mix = self.plain(len(rows))
        ones = np.ones(len(rows))
        spare = 4.0 * self.roundoff  # the client's rounding of the outputs, relative

        def blur(p: int) -> tuple[float, float]:
            """The error bound of u at its largest for P = p outputs, and the scale s."""
            omega, _ = weights(grid, np.arange(p))
            square = float(omega @ omega)
            scale = np.sqrt(max(abs(self.closed), 1e-300) / (least * square))
            room = np.sqrt(self.headroom / (2.0 * least * square))
            scale = float(_power_of_two(min(scale, room, self.out_limit / omega.max())))
            top = float(omega.sum()) * abs(grid.high * float(grid.step))
            share = least * (scale**2 * square + 2.0 * scale * top)
            error = self.answer_error * (abs(self.closed) + share)
            return error / (2.0 * least * scale) + spare * top, scale

        count_per = 1
        for p in range(self.d, 1, -1):
            if blur(p)[0] < 0.05:
                count_per = p
                break
        if count_per == 1:
            for m in range(self.d):
                self.read_output(m, rows)
            return
        windows = [self.windows[i] for i in rows]
        for start in range(0, self.d, count_per):
            outputs = np.arange(start, min(start + count_per, self.d))
            omega, gamma = weights(grid, outputs)
            first = blur(len(outputs))[1]

            def packed(
                picked: np.ndarray,
                scales: np.ndarray,
                omega: np.ndarray = omega,
                outputs: np.ndarray = outputs,
            ) -> np.ndarray:
                out = np.zeros((len(picked), self.d))
                out[:, outputs] = in_format(scales[:, None] * omega, self.dtype)
                chosen = [windows[i] for i in picked]
                return self.query(chosen, extra[picked], mix[picked], ones[picked], out, "labels")

            delta, s = self.within_range(packed, np.full(len(rows), first))
            held = in_format(s[:, None] * omega, self.dtype)
            per = delta / weight
            u = gamma + ((held**2).sum(1) - per) / (2.0 * s)
            error = self.answer_error * (abs(self.closed) + np.abs(delta))
            du = error / (2.0 * weight * s) + spare * np.abs(u - gamma)
            values, bounds, ok = decode(u, du, grid, outputs)
            self.labels[np.ix_(rows[ok], outputs)] = values[ok]
            self.label_bounds[np.ix_(rows[ok], outputs)] = bounds[ok]
            for m in outputs.tolist() if not ok.all() else ():
                self.read_output(m, rows[~ok])

    def read_norms(self, samples: np.ndarray) -> np.ndarray:
        """A rough ||a|| for the samples (indices into the windows): the mean of relu(r·a)
        over random rows r, the same for every sample (kept for the check)."""
        k = len(self.windows)
        if self.norm_rows is None:
            depth = max(len(w.dirs) for w in self.windows)
            j = min(_NORM_ROWS, self.router.rows - 2 * depth)
            self.norm_rows = self.rng.normal(size=(j, self.n))
            self.norm_scale = max(self.ranges) * np.sqrt(self.n)
            self.norm_mix = 1.0 / (j * self.norm_scale)
            self.norm_u, self.norm_du = np.full(k, np.nan), np.full(k, np.nan)
        j = len(self.norm_rows)
        extra = np.tile(self.norm_rows, (len(samples), 1, 1))
        mix = np.full((len(samples), j), self.norm_mix)
        u_scale = 1.0 / np.sqrt(2.0 * np.pi * self.n)
        zero = np.zeros(len(samples))
        u, du = self.read_values(samples, extra, mix, zero, u_scale, "norms")
        self.norm_u[samples], self.norm_du[samples] = u, du
        return np.sqrt(2.0 * np.pi) * u * self.norm_scale

    def read_inputs(self) -> tuple[np.ndarray, np.ndarray]:
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
        k = len(self.windows)
        # A sample's scale: its norm, or what its first window bounds |w·a| by where the
        # norm query saw nothing.
        scale = np.array([max(abs(w.lo[0]), abs(w.hi[0])) for w in self.windows])

        def measured(rows: np.ndarray) -> None:
            norms = self.read_norms(rows)
            scale[rows] = np.where(norms > 0, norms, scale[rows])

        squeezed = self.loss == "squared" and self.range_limited
        inputs = np.zeros((k, self.n))
        errors = np.zeros((k, self.n))

        def bounds(upto: int, rows: np.ndarray) -> tuple[float, float]:
            """(share, top) from the coordinates of ``rows`` read so far (the first's
            while none was read, or none could be)."""
            seen = inputs[rows, :upto] / scale[rows, None]
            if not np.isfinite(seen).any():
                return min(1.0, 4.0 / np.sqrt(self.n)), 1.0
            top = min(1.0, max(1.2 * np.nanmax(seen), _LEAST_SHARE))
            least = top / 8.0 if squeezed else _LEAST_SHARE
            return min(1.0, max(-1.2 * np.nanmin(seen), least)), top

        def one_by_one(rows: np.ndarray) -> None:
            first = bounds(0, rows)[0]
            for coordinate in range(self.n):
                share, top = bounds(coordinate, rows)
                self.read_shares[coordinate] = (share, top)
                self.read_coordinate(coordinate, *self.radii(coordinate), inputs, errors, rows=rows)
            share, top = bounds(self.n, rows)
            if self.n > 1 and share < first / 4.0:
                self.read_shares[0] = (share, top)
                self.read_coordinate(0, *self.radii(0), inputs, errors, "again", rows)

        self.scale = scale
        self.read_shares = [(1.0, 1.0)] * self.n
        self.packed = np.zeros(k)
        everyone = np.arange(k)
        pilot = everyone[:_PILOT] if self.pack else everyone
        measured(pilot)
        one_by_one(pilot)
        self.grid = pack_grid(inputs[pilot], errors[pilot]) if self.pack else None
        if self.pack and self.grid is None and k > len(pilot):  # more before giving up
            more = everyone[len(pilot) : _PILOT_MORE]
            measured(more)
            one_by_one(more)
            pilot = everyone[: len(pilot) + len(more)]
            self.grid = pack_grid(inputs[pilot], errors[pilot], per_feature=True)
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
        """Read the coordinates of ``rows`` P at a time, packed on ``grid``
        (:mod:`lossrecon.attacks.packing`); a value that does not decode is read again on
        its own, with the bounds the first samples set."""
        depth = max(len(w.dirs) for w in self.windows)
        room = (self.router.rows - 2 * depth) // 2
        relative_error = self.answer_error + 2.0 * self.roundoff
        count = per_query(grid.levels, relative_error, room)
        seen, grid = grid, widened(grid, count, relative_error)
        groups = [np.arange(start, min(start + count, self.n)) for start in range(0, self.n, count)]
        k = len(rows)
        # Every group of every sample in one batch (a Flower server asks it in as few
        # rounds as its queries a round allow): group-major, padded to P coordinates.
        extra = np.zeros((len(groups) * k, 2 * count, self.n))
        mix = np.zeros((len(groups) * k, 2 * count))
        gamma, u_scale, u_max = (np.zeros(len(groups) * k) for _ in range(3))
        for g, coordinates in enumerate(groups):
            p, at = len(coordinates), slice(g * k, (g + 1) * k)
            omega, gamma[at] = weights(grid, coordinates)
            extra[at, 2 * np.arange(p), coordinates] = 1.0
            extra[at, 2 * np.arange(p) + 1, coordinates] = -1.0
            mix[at, : 2 * p] = np.repeat(omega, 2) * np.tile([1.0, -1.0], p)
            # The output scale is set for the u the levels seen give; the widened ones
            # above them may reach the top.
            u_scale[at] = float(seen.high - grid.low + 1) * float(grid.levels) ** (p - 1) / 2.0
            u_max[at] = float(grid.levels) ** p
        u, du = self.read_values(
            np.tile(rows, len(groups)),
            extra,
            mix,
            gamma,
            u_scale,
            "packed",
            u_max=u_max,
            terms=partial(_terms, gamma),
        )
        for g, coordinates in enumerate(groups):
            at = slice(g * k, (g + 1) * k)
            values, bounds, ok = decode(u[at], du[at], grid, coordinates)
            good, bad = rows[ok], rows[~ok]
            inputs[np.ix_(good, coordinates)] = values[ok]
            errors[np.ix_(good, coordinates)] = bounds[ok]
            self.packed[good] += len(coordinates) / self.n
            for coordinate in coordinates.tolist() if len(bad) else ():
                self.read_coordinate(
                    coordinate, *self.radii(coordinate), inputs, errors, "unpacked", bad
                )

    def repeat(self, rows: np.ndarray, times: np.ndarray, inputs: np.ndarray, errors: np.ndarray):
        """Read the samples ``rows`` ``times`` (len(rows),) times more, every coordinate,
        and average: the answers' noise, not their rounding, shrinks as 1/sqrt(reads)."""
        rounding = max(16.0 * self.wobble, self.roundoff, 2.0 * self.decimal)
        floor = rounding / self.answer_error
        total = inputs[rows].copy()
        for r in range(1, int(times.max()) + 1):
            again = rows[times >= r]
            more, spread = np.zeros_like(inputs), np.zeros_like(errors)
            for coordinate in range(self.n):
                least, top = self.radii(coordinate)
                self.read_coordinate(coordinate, least, top, more, spread, "noise", again)
            total[times >= r] += more[again]
        reads = times + 1.0
        inputs[rows] = total / reads[:, None]
        errors[rows] *= np.maximum(1.0 / np.sqrt(reads), floor)[:, None]

    def read_coordinate(
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
        todo = np.arange(len(self.windows)) if rows is None else rows
        radius = np.array(least, dtype=float)
        e = np.zeros(self.n)
        e[coordinate] = 1.0
        for attempt in range(_RETRIES):
            if not len(todo):
                break
            extra = np.tile(np.stack([e, -e]), (len(todo), 1, 1))
            alpha = 1.0 / radius[todo]
            u, du = self.read_values(
                todo,
                extra,
                np.stack([alpha, -alpha], axis=1),
                np.ones(len(todo)),
                1.0,
                f"coordinates ({phase})"
                if phase in ("noise", "unpacked")
                else "coordinates again"
                if attempt or phase
                else "coordinates",
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

    def check(self, windows: list[_Window], inputs: np.ndarray, errors: np.ndarray) -> np.ndarray:
        """Whether each recovered input projects into its windows, with the client's
        rounding of the rows and the inputs' error bounds."""
        ok = np.all(np.isfinite(inputs), axis=1)
        assert self.norm_rows is not None
        # The norm query's value, predicted from the inputs read, must match what it was.
        # Its rows as the client rounds them; its own rounding of r·a is part of the slack.
        rows = in_format(self.norm_rows, self.dtype)
        a = np.nan_to_num(inputs)
        predicted = self.norm_mix * np.maximum(a @ rows.T, 0.0).sum(1)
        size = self.norm_mix * np.linalg.norm(rows, axis=1).sum() * np.linalg.norm(a, axis=1)
        rounding = 8.0 * self.roundoff * np.sqrt(self.n) * size
        reach = (
            size * np.linalg.norm(errors, axis=1) / np.maximum(np.linalg.norm(a, axis=1), 1e-300)
        )
        asked = np.isfinite(self.norm_u)
        off = np.abs(predicted - self.norm_u) > 4.0 * (self.norm_du + reach) + rounding
        ok &= ~(asked & off)
        for i, w in enumerate(windows):
            if not ok[i]:
                continue
            for direction, lo, hi in zip(w.dirs, w.lo, w.hi, strict=True):
                scale = self.ranges[direction]
                row = in_format(self.dirs[direction] / scale, self.dtype)
                t = float(row @ inputs[i]) * scale
                slack = 64.0 * self.roundoff * scale + float(np.linalg.norm(errors[i])) * 4.0
                ok[i] &= lo - slack <= t <= hi + slack
        return ok

    def confident(
        self, windows: list[_Window], inputs: np.ndarray, errors: np.ndarray
    ) -> np.ndarray:
        """Which samples pass their check, with their class (cross-entropy) and an error
        bound that is not a sizeable share of themselves."""
        ok = self.check(windows, inputs, errors)
        if self.loss == "cross_entropy":
            ok &= self.class_ok
        norm = np.linalg.norm(np.nan_to_num(inputs), axis=1)
        return ok & (np.linalg.norm(errors, axis=1) <= _CONFIDENT * np.maximum(norm, 1e-300))

    @staticmethod
    def read_twice(reading: _Reading) -> np.ndarray:
        """Which of the samples read (M',) is a second reading of an earlier one: the same
        input and label within both error bounds, from another window."""
        inputs, errors, ok = reading.inputs, reading.errors, reading.ok
        labels, label_bounds = reading.labels, reading.label_bounds
        from scipy.spatial import cKDTree

        twice = np.zeros(len(inputs), dtype=bool)
        good = np.flatnonzero(ok)
        if len(good) < 2:
            return twice
        radius = 2.0 * float(np.linalg.norm(errors[good], axis=1).max()) + 1e-300
        for i, j in sorted(cKDTree(inputs[good]).query_pairs(radius)):
            a, b = good[i], good[j]
            if twice[a] or twice[b]:
                continue
            close = np.all(np.abs(inputs[a] - inputs[b]) <= errors[a] + errors[b])
            same = np.abs(labels[a] - labels[b]) <= label_bounds[a] + label_bounds[b]
            if close and np.all(same):
                twice[b] = True
        return twice

    def start(self, closed: np.ndarray | None) -> None:
        """The answers at w = 0 (asked unless given), their noise, the ceiling's room
        and the chart's output scales."""
        if closed is None:
            closed = self.ask(np.zeros((_REPEATS, self.net.n_params)), "baseline")
        if np.std(closed) > 0:  # noisy: enough repeats to bound the noise, not guess it
            more = self.ask(np.zeros((_NOISE_REPEATS, self.net.n_params)), "baseline")
            closed = np.concatenate([closed, more])
        self.closed = float(np.median(closed))
        self.noise = _noise_bound(closed) / max(abs(self.closed), 1e-300)
        if self.clip is not None:  # answers this close to the ceiling may be clipped
            self.ceiling = self.clip - 4.0 * self.resolution * abs(self.clip)
        self.headroom = self.ceiling - self.closed
        if self.loss == "squared":
            self.count_scale = float(_power_of_two(1e3 * np.sqrt(max(abs(self.closed), 1e-30))))
        self.first_scale = min(1.0, self.out_limit / self.count_output)
        # Noisy answers blur a count by their noise times the whole loss: windows with
        # fewer samples are then counted at larger scales, their share kept near the
        # top window's, far above the closed loss.
        self.scale_cap = 1.0
        if 4.0 * self.noise >= self.answer_error:
            self.scale_cap = float(_power_of_two(self.out_limit / self.count_output))

    def read(self, windows: list[_Window], count: np.ndarray, weight: np.ndarray) -> _Reading:
        """Labels and inputs (K, n) of the isolated samples in ``windows``, whose
        multiplicities are ``count`` and loss factors ``weight`` (K,), with their error
        bounds and whether each passed its check (K,); a packed sample that fails is read
        again unpacked, a noisy one again and averaged."""
        self.windows, self.count, self.weight = windows, count, weight
        self.norm_rows = None
        self.read_labels()
        inputs, errors = self.read_inputs()
        ok = self.confident(windows, inputs, errors)
        # A value past the levels the first samples showed carries into the next digit
        # and still decodes to integers: a packed sample that fails its check is read
        # again one coordinate a query.
        carried = np.flatnonzero(~ok & (self.packed > 0))
        if len(carried):
            for coordinate in range(self.n):
                least, top = self.radii(coordinate)
                self.read_coordinate(coordinate, least, top, inputs, errors, "unpacked", carried)
            self.packed[carried] = 0.0
            ok = self.confident(windows, inputs, errors)
        # Noisy answers: a sample whose bound is too wide, or that failed its check, is
        # read again as many times as its bound asks for (at most _NOISE_READS).
        noisy = 4.0 * self.noise >= self.answer_error
        weak = np.flatnonzero(~ok & np.all(np.isfinite(inputs), axis=1))
        if noisy and len(weak):
            norm = np.linalg.norm(inputs[weak], axis=1)
            ratio = np.linalg.norm(errors[weak], axis=1) / (0.8 * _CONFIDENT * norm)
            times = np.clip(np.ceil(ratio**2) - 1.0, 1.0, _NOISE_READS)
            self.repeat(weak, times, inputs, errors)
            ok = self.confident(windows, inputs, errors)
        k = len(windows)
        return _Reading(
            windows,
            inputs,
            errors,
            self.labels,
            self.label_bounds,
            count,
            weight,
            np.zeros(k),
            ok,
            np.zeros(k, dtype=bool),
            self.packed,
        )

    def rescued(self, reading: _Reading) -> _Reading:
        """``reading`` with the windows that failed their check read again (biased).

        Each is counted afresh beside its variants, one edge at a time moved a quarter
        of the window inward. A window whose fresh count is another whole number held
        other samples than charted (a sample on a cut fell in both parts, and the part
        whose share was derived missed it): it is charted again and its windows read. A
        sample whose projection lies within the client's rounding of a cut leaks into the
        window beside it a share too small to count, and blends its reading: a variant
        whose share is the window's (the quarter it left out held no sample) is read, and
        the first that passes replaces the failure."""
        failed = np.flatnonzero(~reading.ok)
        originals = [replace(reading.windows[i]) for i in failed]
        variants: list[_Window] = []
        owners: list[int] = []
        for k, w in enumerate(originals):
            for j, direction in enumerate(w.dirs):
                span = self.ranges[direction]
                step = 0.25 * (w.hi[j] - w.lo[j])
                for lo, hi in ((w.lo[j] + step, w.hi[j]), (w.lo[j], w.hi[j] - step)):
                    lo, hi = (float(in_format(x / span, self.dtype)) * span for x in (lo, hi))
                    moved_lo, moved_hi = list(w.lo), list(w.hi)
                    moved_lo[j], moved_hi[j] = lo, hi
                    variants.append(replace(w, lo=moved_lo, hi=moved_hi))
                    owners.append(k)
        share, error = self.shares(originals + variants, "re-read")
        for w, fresh, err in zip(originals, share, error, strict=False):
            w.share, w.error = float(fresh), float(err)
        recount = np.array([round(w.share / self.unit) for w in originals], dtype=float)
        whole = np.array([self.whole(w) for w in originals], dtype=bool)
        miscounted = (recount != reading.count[failed]) & (recount >= 1) & whole
        own = np.array(owners, dtype=int)
        tolerance = np.maximum(3.0 * (error[len(failed) :] + error[own]), 0.1 * self.unit)
        holds = ~miscounted[own] & (np.abs(share[len(failed) :] - share[own]) <= tolerance)
        kept = [v for v, h in zip(variants, holds, strict=True) if h]
        leaves = self.refine([w for w, m in zip(originals, miscounted, strict=True) if m], True)
        if not kept and not leaves:
            return reading
        chosen = failed[own[holds]]
        count = np.concatenate(
            [reading.count[chosen], [round(w.share / self.unit) for w in leaves]]
        )
        weight = np.concatenate([reading.weight[chosen], count[len(kept) :] * self.kappa_])
        # A few windows, one coordinate a query: the grids the whole reading found stay.
        grids, pack = (self.grid, self.label_grid), self.pack
        self.pack = False
        again = self.read(kept + leaves, count, weight)
        (self.grid, self.label_grid), self.pack = grids, pack
        # Each failure's first variant that passes, and every window charted again.
        taken = np.zeros(len(again.ok), dtype=bool)
        taken[len(kept) :] = True
        replaced = np.zeros(len(reading.ok), dtype=bool)
        replaced[failed[miscounted]] = True
        for v in np.flatnonzero(again.ok[: len(kept)]):
            if not replaced[chosen[v]]:
                taken[v] = replaced[chosen[v]] = True
        mended = int(again.ok[taken].sum())
        if mended:
            self.warnings.append(
                f"{mended} samples passed their check when read again, an edge of their "
                "window moved inward or the window charted again (a sample on a cut)"
            )
        return _Reading.joined([reading.subset(~replaced), again.subset(taken)])

    def result(self, reading: _Reading) -> GatedResult:
        """The samples that passed their check, each once."""
        inputs, errors, labels, ok = reading.inputs, reading.errors, reading.labels, reading.ok
        failed = int((~ok).sum())
        if failed:
            self.warnings.append(f"{failed} samples failed their check and are left out")
        twice = self.read_twice(reading)
        if twice.any():
            self.warnings.append(
                f"{int(twice.sum())} samples sat exactly on a cut (the client rounds their "
                "projection onto it), so two windows held them: kept once"
            )
        ok = ok & ~twice
        return GatedResult(
            inputs[ok],
            labels[ok],
            reading.count[ok],
            errors[ok],
            reading.label_bounds[ok],
            self.kappa_,
            kappa_error=self.answer_error,
            packed=reading.packed[ok],
            grid=self.grid,
            label_grid=self.label_grid,
            failed=failed,
            warnings=self.warnings,
        )

    def nothing(self) -> GatedResult:
        none = np.zeros((0, self.n)), np.zeros((0, self.d))
        return GatedResult(*none, np.zeros(0), *none, 0.0, warnings=self.warnings)

    def run(self, closed: np.ndarray | None) -> GatedResult:
        self.start(closed)
        if self.router.anchor is not None:
            return self.run_homogeneous()
        windows = self.chart(self.n_samples)
        if not windows:
            return self.nothing()
        if not self.kappa_read:
            self.kappa_ = self.kappa(windows)
        count = np.array([round(w.share / self.unit) for w in windows], dtype=float)
        reading = self.read(windows, count, count * self.kappa_)
        return self.result(reading if reading.ok.all() else self.rescued(reading))

    def run_homogeneous(self) -> GatedResult:
        """Bias-free: chart the samples with u0·a > 0 and, if there are any, those with
        u0·a < 0 (anchor −u0) side by side, read them all together (:meth:`read_charted`),
        and scale every sample back by t = sqrt(κ t² / κ), κ from the reduction and M
        (known, or counted from the loss's shares)."""
        top = self.top_window()
        tops = [top] if top is not None else []
        if top is None or self.far_side(top):
            far = self.top_window(-1.0)
            tops += [far] if far is not None else []
        if not tops:
            self.warnings.append(_NOTHING)
            return self.nothing()
        read = self.read_charted(self.chart_weighted(tops))
        if read is None:
            self.warnings.append(_NOTHING)
            return self.nothing()
        sides = np.array([w.side for w in read.windows])
        m = sum(
            self.samples(t, read.weight[sides == t.side], read.ok[sides == t.side]) for t in tops
        )
        if self.n_samples is not None and m < self.n_samples and read.ok.all():
            self.warnings.append(
                f"the loss's shares count {m} samples, the client has {self.n_samples}: "
                "some lie too close to the anchor's plane (u0·a near 0) to share enough of "
                "the loss to chart, or some windows hold copies of one sample, which a "
                "bias-free network cannot tell from one sample scaled up (k copies of "
                "(a, b) lose as (√k a, √k b) does)"
            )
        # Counted from the shares, M misses what no share showed: on data of both signs,
        # samples near the anchor's plane (u0·a near 0) can share too little to show.
        counted = len(tops) == 1 and m == int(read.ok.sum())
        m_known = self.n_samples is not None or self.reduction != "mean" or counted
        pinned = self.reduction_known and m_known
        if self.reduction_known and not m_known:
            self.warnings.append(
                "M is not known and some samples may not have been read (missed, or near "
                "the anchor's plane): the inputs and labels share one unknown factor "
                "(scale_known is False)"
            )
        kappa = reduction_scale(self.reduction, self.n_samples or m, self.d)
        t = np.sqrt(read.weight / kappa)[:, None]
        half = 0.5 * read.relative[:, None]
        errors = t * (read.errors + half * np.abs(read.inputs))
        label_bounds = t * (read.label_bounds + half * np.abs(read.labels))
        # Back from the anchor's units on either side: a = t â, t = ±u0·a > 0.
        self.kappa_ = kappa
        scaled = replace(
            read,
            inputs=t * read.inputs,
            errors=errors,
            labels=t * read.labels,
            label_bounds=label_bounds,
        )
        result = self.result(scaled)
        result.reduction, result.scale_known = self.reduction, pinned
        return result

    def read_charted(self, leaves: list[_Window]) -> _Reading | None:
        """Bias-free: read the charted windows in the anchor's units (â = a / t,
        b̂ = b / t, each window's factor κ t²), chart again those found to hold two
        samples, and read those again; None when none holds any share."""
        kept: list[_Reading] = []
        for attempt in range(_RECHARTS + 1):
            reading = self.read_weighted(leaves)
            if reading is None:
                break
            shared = reading.shared & ~reading.ok
            if attempt == _RECHARTS or not shared.any():
                kept.append(reading)
                break
            kept.append(reading.subset(~shared))
            twice = [w for w, again in zip(reading.windows, shared, strict=True) if again]
            leaves = self.chart_weighted([self.afresh(w) for w in twice], "chart again")
        return _Reading.joined(kept) if kept else None

    def read_weighted(self, leaves: list[_Window]) -> _Reading | None:
        """Bias-free: read the windows that hold a share when asked afresh, in the
        anchor's units; None if none holds any."""
        if not leaves:
            return None
        weight, weight_error = self.sample_weights(leaves)
        # Asked afresh, a window's share may show it held nothing (noisy answers).
        held = weight > 2.0 * weight_error
        leaves = [w for w, h in zip(leaves, held, strict=True) if h]
        weight, weight_error = weight[held], weight_error[held]
        if not leaves:
            return None
        # One sample's factor and share, where the readouts size their outputs by them:
        # the smallest found.
        self.kappa_ = float(weight.min())
        self.unit = min(w.share for w in leaves)
        reading = self.read(leaves, np.ones(len(leaves)), weight)
        inputs, errors = reading.inputs, reading.errors
        single = self.anchored(inputs, errors)
        single &= self.alone(leaves, inputs, errors, weight, weight_error)
        norm = np.linalg.norm(np.nan_to_num(inputs), axis=1)
        bounded = np.linalg.norm(errors, axis=1) <= _CONFIDENT * np.maximum(norm, 1e-300)
        finite = np.all(np.isfinite(inputs), axis=1)
        return replace(
            reading,
            relative=weight_error / weight,
            ok=reading.ok & single & bounded,
            shared=finite & ~single,
        )

    def samples(self, top: _Window, weight: np.ndarray, ok: np.ndarray) -> int:
        """Bias-free, M unknown: the samples read, times the whole loss's factor Σ κ t²
        (the first window's share) over theirs: every sample when none was missed, and
        the missed ones counted at the read ones' mean factor."""
        found = int(ok.sum())
        if not found:
            return max(len(ok), 1)
        total = top.share / float(self.pair_share(1.0))
        m = max(found, round(found * total / float(weight[ok].sum())))
        if m > found:
            self.warnings.append(
                f"{m - found} samples were not read; M = {m} is estimated from the loss's "
                "share of every sample, which sets the scale the reduction gives"
            )
        return m

    def afresh(self, w: _Window) -> _Window:
        """A window whose reading failed, to be charted again: along a new direction
        inside it where there is room (two samples that one direction could not part
        are far apart on most others), else on along its own."""
        if not self.room(w):
            w.blur, w.stable = 0.0, 0
            return w
        deeper = self.new_direction(w)
        span = self.ranges[deeper]
        return w.deeper(deeper, -span, span)

    def far_side(self, top: _Window) -> bool:
        """Bias-free: whether samples lie where the anchor reads nothing (u0·a < 0): the
        share of a window a million times wider than ``top`` along its direction, with
        the anchor −u0, in one query pair."""
        index, span = len(self.dirs), 1e6 * self.ranges[top.dirs[0]]
        self.dirs.append(self.dirs[top.dirs[0]])
        self.ranges.append(span)
        try:
            wide = _Window([index], [-span], [span], scale=self.first_scale, side=-1.0)
            share, error = self.shares([wide], "range")[:, 0]
        finally:
            del self.dirs[index:], self.ranges[index:]
        return bool(share > error)

    def anchored(self, inputs: np.ndarray, errors: np.ndarray) -> np.ndarray:
        """Bias-free: whether each input read (in the anchor's units) has u0·â = 1, as
        a = t â must. A window that held two samples reads a blend whose squared
        readouts are root-mean-squares of theirs, off that plane."""
        assert self.router.anchor is not None
        sides = np.array([w.side for w in self.windows])
        anchor = sides[:, None] * in_format(self.router.anchor, self.dtype)
        a = np.nan_to_num(inputs)
        slack = 4.0 * (np.abs(errors) * np.abs(anchor)).sum(1)
        slack += 32.0 * self.roundoff * (np.abs(a) * np.abs(anchor)).sum(1)
        return np.abs((a * anchor).sum(1) - 1.0) <= slack


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
    ceiling: float | None = None,
    pack: bool = True,
    reduction: str | None = None,
) -> GatedResult:
    """Read every sample of the network's training set through exact gates.

    ``ask(W, phase)`` answers a (K, N) batch of weight vectors; ``loss`` is "squared" or
    "cross_entropy", ``dtype`` the client's arithmetic (its unit roundoff sets the chart's
    resolution and the error bounds); ``digits``, the significant digits the answers are
    rounded to, if they are; ``n_samples``, M when known, only speeds the chart; ``closed``,
    answers already had at w = 0 (they measure the noise), else asked; ``ceiling``, the
    value the client clips its loss at, if it does. Answers past the format's range
    (``inf``) or at the ceiling are asked again with smaller outputs. With ``pack``, the
    coordinates of quantized data are read several to an answer once the first samples
    show their grid. Without biases (squared loss only) the inputs and labels come back
    in the scale ``reduction`` gives them ("mean" when None: the answers cannot tell).
    """
    gated = _Gated(ask, net, loss, dtype, rng, n_samples, digits, ceiling, pack, reduction)
    return gated.run(closed)

"""The client as the gates see it: its format, its answers' error, its loss at w = 0.

Measured once before the chart (:func:`measure_client`) and fixed from then on: every
later step sizes its weights and bounds its errors from this one value.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from lossrecon.precision import ACCUMULATION, LARGEST, ROUNDOFF, AnswerModel

__all__ = ["NOISE_READS", "SPACING", "Ask", "Client", "measure_client", "power_of_two"]

Ask = Callable[[np.ndarray, str], np.ndarray]  # (K, N) weight vectors, a phase -> (K,) answers

_HEADROOM = 16.0  # the largest finite number of the format over the largest value asked
SPACING = 64.0  # logit gap between classes (e^-64 is below every format's resolution)
_DOMINANCE = 1e4  # the isolated sample's share over everything else, in reading queries, at least
_REPEATS = 8  # answers at w = 0 that measure the noise of the answers
_NOISE_REPEATS = 24  # more answers at w = 0 when the first show noise
NOISE_READS = 8  # extra readings, at most, of a sample whose bound the answers' noise widens


def power_of_two(x: float | np.ndarray) -> np.ndarray:
    """The power of two just below ``x``: every format holds it exactly, so a weight made
    of it reaches the client unrounded."""
    return np.exp2(np.floor(np.log2(np.asarray(x, dtype=float))))


def _noise_bound(answers: np.ndarray) -> float:
    """The standard deviation of repeated answers, at the upper end of its 99 %
    confidence interval (a handful of repeats can understate it twice over)."""
    from scipy.stats import chi2

    n = len(answers)
    if n < 2 or np.std(answers) == 0:
        return 0.0
    return float(np.std(answers, ddof=1) * np.sqrt((n - 1) / chi2.ppf(0.01, n - 1)))


@dataclass(frozen=True)
class Client:
    """The loss kind ("squared" or "cross_entropy"), the client's outputs ``d``, its
    answers' error model, the loss at w = 0 (``closed``), the value under which an answer
    is not clipped (``ceiling``, inf when the loss is not clipped) and the count pair's
    output scale (squared loss)."""

    loss: str
    d: int
    answers: AnswerModel
    closed: float
    ceiling: float = np.inf
    count_scale: float = 1.0

    # -- the format -------------------------------------------------------------------
    @property
    def dtype(self) -> str:
        return self.answers.dtype

    @property
    def roundoff(self) -> float:
        return ROUNDOFF[self.dtype]

    @property
    def wobble(self) -> float:
        """A projection w·a wobbles by the rounding of its accumulation; half-precision
        clients accumulate in float32 and round once, relative to the result."""
        return ROUNDOFF[ACCUMULATION[self.dtype]]

    @property
    def largest(self) -> float:
        """The largest weight or value asked: _HEADROOM below the format's largest finite
        number (float16: 65504)."""
        return LARGEST[self.dtype] / _HEADROOM

    @property
    def out_limit(self) -> float:
        """The largest output: its square for a squared loss, itself for logits, stays
        under :attr:`largest`."""
        return float(np.sqrt(self.largest)) if self.loss == "squared" else self.largest

    @property
    def noise(self) -> float:
        return self.answers.noise

    @property
    def answer_error(self) -> float:
        return self.answers.error

    @property
    def resolution(self) -> float:
        """The relative error of an answer that still counts as nothing."""
        return self.answers.resolution

    @property
    def dominance(self) -> float:
        """A reading query's isolated share outweighs the rest of the loss so far that
        the rest, summed in the client's format, falls below the share's last bit: adding
        it then rounds to nothing instead of to a bit of the share at each step of the
        client's summation (the error grew with M before: 6e-7 at M = 500). Answers
        rounded to fewer digits, or noisy, carry no more bits than that: their rounding
        or noise sets the last bit that counts (a larger share would only ask outputs a
        client in a narrower format than its answers show cannot hold)."""
        last_bit = max(self.roundoff, self.answers.decimal, self.noise)
        return max(_DOMINANCE, 16.0 / last_bit)

    @property
    def headroom(self) -> float:
        """How far the loss may rise above the closed loss."""
        return self.ceiling - self.closed

    # -- the count pair -------------------------------------------------------------
    @property
    def count_output(self) -> float:
        """The count pair's output o on unit 0 at scale 1 (the pair is o e_0 and −o e_0)."""
        return self.count_scale if self.loss == "squared" else SPACING * max(self.d - 1, 1)

    @property
    def first_scale(self) -> float:
        """The count pair's scale for the window of every sample."""
        return min(1.0, self.out_limit / self.count_output)

    @property
    def scale_cap(self) -> float:
        """The largest scale a narrower window's count is read at: 1, or less where the
        format's range allows less (float16: the square of an output past 256 is
        past its largest number). Noisy answers blur a count by their noise times the
        whole loss: windows with fewer samples are then counted at larger scales, their
        share kept near the top window's, far above the closed loss."""
        if self.answers.noisy:
            return float(power_of_two(self.out_limit / self.count_output))
        return min(1.0, float(power_of_two(self.out_limit / self.count_output)))

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

    def floor(self, share: float) -> float:
        """The share below which a window holds nothing: rounding and noise of the loss."""
        return self.resolution * (abs(self.closed) + abs(share))

    def dominant_scale(self, share: float) -> float:
        """The count pair's output scale (a power of two, within the format's range) at
        which a window of ``share`` (at scale 1) outweighs the rest of the loss
        :attr:`dominance` times."""
        ratio = self.dominance * max(abs(self.closed), 1e-300) / share
        scale = max(1.0, np.sqrt(ratio) if self.loss == "squared" else ratio)
        return float(power_of_two(min(scale, self.out_limit / self.count_output)))

    def range_limited(self, kappa: float, least_share: float) -> bool:
        """Whether the format's largest number or the client's ceiling, not the loss's
        own size, limits the output scale of a coordinate read with the smallest bound
        R = ``least_share`` of the norm (float16; a clipped loss)."""
        room = self.headroom / (2.0 * kappa)
        if self.loss == "squared":
            wanted = max(np.sqrt(self.dominance * abs(self.closed) / kappa), self.dominance)
            limit = min(self.out_limit, np.sqrt(room))
        else:
            wanted = self.dominance * max(abs(self.closed) / kappa, 1.0)
            limit = min(self.out_limit, room)
        return bool(wanted * (1.0 + 1.0 / least_share) > limit)


def measure_client(
    ask: Ask,
    n_params: int,
    loss: str,
    dtype: str,
    d: int,
    digits: int | None,
    clip: float | None,
    closed: np.ndarray | None,
) -> Client:
    """The client from its answers at w = 0 (asked unless given ``closed``): their
    median, their noise (more repeats where the first show any) and, where the loss is
    clipped at ``clip``, the ceiling under which an answer is surely not clipped."""
    if closed is None:
        closed = ask(np.zeros((_REPEATS, n_params)), "baseline")
    if np.std(closed) > 0:  # noisy: enough repeats to bound the noise, not guess it
        more = ask(np.zeros((_NOISE_REPEATS, n_params)), "baseline")
        closed = np.concatenate([closed, more])
    middle = float(np.median(closed))
    answers = AnswerModel(dtype, digits, _noise_bound(closed) / max(abs(middle), 1e-300))
    ceiling = np.inf
    if clip is not None:  # answers this close to the ceiling may be clipped
        ceiling = clip - 4.0 * answers.resolution * abs(clip)
    count_scale = 1.0
    if loss == "squared":
        count_scale = float(power_of_two(1e3 * np.sqrt(max(abs(middle), 1e-30))))
    return Client(loss, d, answers, middle, ceiling, count_scale)

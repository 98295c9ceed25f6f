"""The probe: what the target computes, declared or read off its answers.

The loss at w = 0 is exactly M log d (sum) or log d (mean) for cross-entropy; a float32
loss is a float32 number; a rounded one has few digits; the spread of repeats at w = 0
is the noise; random weights scaled up until the loss is huge answer one same value if
the client clips it (or inf past its range); weights of norm² N whose outputs are
exactly 0 answer the loss at w = 0 unless a regularizer adds to it.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from lossrecon.attacks.chosen.client import Ask
from lossrecon.attacks.chosen.router import dead_weights
from lossrecon.errors import AttackError
from lossrecon.network import ReLUNetwork
from lossrecon.oracle.protocol import LossConvention
from lossrecon.precision import ROUNDOFF, AnswerModel, decimal_digits, detect_dtype

__all__ = ["Target", "probe_target"]

_ZERO_REPEATS = 8  # answers at w = 0 in the probe of an undeclared target (its noise)


class Target(NamedTuple):
    """The loss kind, the client's arithmetic, the digits its answers are rounded to
    (None: not rounded), its answers at w = 0, the value it clips its loss at (None:
    not clipped), and what a regularizer adds to its loss at weights of norm² N' whose
    outputs are 0 (:func:`~.router.dead_weights`; 0 where the answers show none)."""

    loss: str
    dtype: str
    digits: int | None
    closed: np.ndarray
    ceiling: float | None
    regularizer: float = 0.0


def probe_target(
    ask: Ask, net: ReLUNetwork, declared: LossConvention, rng: np.random.Generator
) -> Target:
    """The target as declared, the rest read off one batch of answers: at w = 0, at
    random weights and at random weights scaled up."""
    zeros = _ZERO_REPEATS
    random = net.random_weights(8, random_state=rng)
    loud = random[:4] * (10.0 ** np.arange(1, 5))[:, None]
    probe = np.vstack([np.zeros((zeros, net.n_params)), random, loud, dead_weights(net)])
    answers = ask(probe, "target")
    dead = answers[-1]
    answers = answers[:-1]
    finite = answers[np.isfinite(answers)]
    dtype = declared.dtype or detect_dtype(finite)
    digits = decimal_digits(finite[zeros:])
    if digits is not None and 10.0 ** (1 - digits) < ROUNDOFF[dtype]:
        digits = None  # finer than the format: its numbers are short, not rounded
    at_zero = answers[:zeros]
    if not np.all(np.isfinite(at_zero)):
        raise AttackError(f"the loss at w = 0 is not finite: {at_zero}")
    closed = float(np.median(at_zero))
    noise = float(np.std(at_zero) / max(abs(closed), 1e-300))
    resolution = AnswerModel(dtype, digits, noise).resolution
    regularizer = float(dead - closed)
    if not np.isfinite(dead) or abs(regularizer) <= resolution * abs(closed):
        regularizer = 0.0
    loss: str | None = declared.loss
    if loss is None:
        loss = "squared"  # one output: no classes, and log d = 0
        if net.n_outputs >= 2:
            ratio = closed / np.log(net.n_outputs)
            whole = round(ratio) >= 1 and abs(ratio - round(ratio)) <= resolution * ratio
            loss = "cross_entropy" if whole else "squared"
    top = float(finite.max())
    ceiling = None
    if top > closed * (1.0 + 8.0 * resolution) and np.sum(finite == top) >= 2:
        ceiling = top
    return Target(loss, dtype, digits, at_zero, ceiling, regularizer)

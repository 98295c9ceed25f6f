"""What a loss oracle is, and the loss conventions ("reductions") oracles may follow.

A loss oracle is any object with ``n_params: int`` and ``__call__(W) -> losses``, where
W is a float64 array of shape (K, N) and the answer has shape (K,). Batching is the
contract: attacks ask for many weight vectors at once. An oracle may state its loss
convention in an attribute ``reduction``; absent, the paper's ``"half_sum"`` is assumed.
An attribute ``loss`` ("squared" when absent) names the kind of loss.
"""

from __future__ import annotations

from typing import Literal, Protocol, runtime_checkable

import numpy as np

from lossrecon.errors import ConfigurationError

__all__ = [
    "REDUCTIONS",
    "LossOracle",
    "Reduction",
    "reduction_of",
    "reduction_scale",
    "require_squared_loss",
]

Reduction = Literal["half_sum", "sum", "mean"]
REDUCTIONS: tuple[str, ...] = ("half_sum", "sum", "mean")


@runtime_checkable
class LossOracle(Protocol):
    """A black box that returns the training loss for a batch of weight vectors."""

    n_params: int

    def __call__(self, W: np.ndarray) -> np.ndarray:
        """Losses for W of shape (K, N): an array of shape (K,)."""
        ...


def require_squared_loss(oracle: object, attack: str) -> None:
    """Refuse an oracle whose ``loss`` attribute says it is not a squared loss.

    The attacks read the loss along lines as piecewise quadratic, which only a squared
    loss of a piecewise-linear network is; cross-entropy is piecewise analytic instead.
    """
    kind = getattr(oracle, "loss", "squared")
    if kind != "squared":
        raise ConfigurationError(
            f"the {attack} attack needs a squared loss (the paper's, or MSELoss), but the "
            f"oracle's loss is {kind!r}: along a line it is then not piecewise quadratic. "
            "Its kinks still sit on the samples' hyperplanes (docs/targets.md)"
        )


def reduction_of(oracle: object, override: str | None = None) -> str:
    """The loss convention of an oracle: the override, its ``reduction``, or "half_sum"."""
    reduction = override if override is not None else getattr(oracle, "reduction", "half_sum")
    if reduction not in REDUCTIONS:
        raise ConfigurationError(f"unknown reduction {reduction!r}; choose one of {REDUCTIONS}")
    return reduction


def reduction_scale(reduction: str, n_samples: int, n_outputs: int) -> float:
    """Factor c with loss = c * sum_i ||b_i - F(a_i)||^2 under a reduction.

    "half_sum" is the paper's 1/2, "sum" is ``MSELoss(reduction="sum")`` and "mean" is
    ``MSELoss(reduction="mean")``, which divides by the number of entries M * d_out.
    """
    if reduction == "half_sum":
        return 0.5
    if reduction == "sum":
        return 1.0
    if reduction == "mean":
        return 1.0 / (n_samples * n_outputs)
    raise ConfigurationError(f"unknown reduction {reduction!r}; choose one of {REDUCTIONS}")

"""What a loss oracle is, and the loss convention it declares.

A loss oracle is any object with ``n_params: int`` and ``__call__(W) -> losses``, where
W is a float64 array of shape (K, N) and the answer has shape (K,). Batching is the
contract: attacks ask for many weight vectors at once.

What an oracle knows of its target travels with it as one :class:`LossConvention`
(loss kind, reduction, the arithmetic the target computes in, the number of samples),
read by :func:`convention_of`. lossrecon's oracles declare it in an attribute
``convention``; every wrapper (:class:`OracleWrapper`) carries its inner oracle's, so no
wrapper forwards attributes by hand. A plain object may instead have any of the
attributes ``loss``, ``reduction``, ``dtype``, ``n_samples`` or ``num_examples``, or none:
what is not declared is ``None``, and an attack then assumes the paper's convention or
finds it out from the answers.
"""

from __future__ import annotations

from contextlib import suppress
from dataclasses import dataclass, replace
from typing import Any, Literal, Protocol, get_args, runtime_checkable

import numpy as np

from lossrecon.errors import ConfigurationError, OracleError
from lossrecon.precision import DTYPES, Precision

__all__ = [
    "ASSUMED_REDUCTION",
    "DTYPES",
    "LOSSES",
    "REDUCTIONS",
    "DeclaredOracle",
    "LossConvention",
    "LossOracle",
    "OracleWrapper",
    "Reduction",
    "convention_of",
    "reduction_named",
    "reduction_of",
    "reduction_scale",
    "require_squared_loss",
    "squared_loss_convention",
    "validate_oracle",
]

Reduction = Literal["half_sum", "sum", "mean"]
LossKind = Literal["squared", "cross_entropy"]
REDUCTIONS: tuple[str, ...] = get_args(Reduction)
# What an oracle that declares no reduction is taken to compute: the paper's
# sum_i 1/2 ||b_i - F(a_i)||^2 (an attack that can read the reduction off the answers
# does so instead).
ASSUMED_REDUCTION: Reduction = "half_sum"
LOSSES: tuple[str, ...] = get_args(LossKind)


@runtime_checkable
class LossOracle(Protocol):
    """A black box that returns the training loss for a batch of weight vectors."""

    n_params: int

    def __call__(self, W: np.ndarray) -> np.ndarray:
        """Losses for W of shape (K, N): an array of shape (K,)."""
        ...


def _dtype_name(dtype: object) -> str | None:
    """ "float32" for "float32", np.float32, np.dtype("float32") or torch.float32."""
    if dtype is None:
        return None
    name = str(dtype).removeprefix("torch.")
    if name not in DTYPES:
        with suppress(TypeError):
            name = np.dtype(dtype).name  # type: ignore[call-overload]
    if name not in DTYPES:
        raise ConfigurationError(f"unknown dtype {dtype!r}; choose one of {DTYPES}")
    return name


@dataclass(frozen=True)
class LossConvention:
    """How a target computes the loss it reports; ``None`` where it is not declared.

    ``loss``: "squared" (the paper's, or ``MSELoss``) or "cross_entropy";
    ``reduction``: "half_sum" (the paper's sum_i 1/2 ||b_i - F(a_i)||^2), "sum" or "mean";
    ``dtype``: the arithmetic the target evaluates in (float64, float32, float16,
    bfloat16); ``n_samples``: the number of training samples M, duplicates included.
    """

    loss: LossKind | None = None
    reduction: Reduction | None = None
    dtype: Precision | None = None
    n_samples: int | None = None

    def __post_init__(self) -> None:
        if self.loss is not None and self.loss not in LOSSES:
            raise ConfigurationError(f"unknown loss {self.loss!r}; choose one of {LOSSES}")
        if self.reduction is not None and self.reduction not in REDUCTIONS:
            raise ConfigurationError(
                f"unknown reduction {self.reduction!r}; choose one of {REDUCTIONS}"
            )
        object.__setattr__(self, "dtype", _dtype_name(self.dtype))
        if self.n_samples is not None:
            if isinstance(self.n_samples, bool) or int(self.n_samples) != self.n_samples:
                raise ConfigurationError(f"n_samples must be an integer, got {self.n_samples!r}")
            if self.n_samples < 1:
                raise ConfigurationError(f"n_samples must be positive, got {self.n_samples}")
            object.__setattr__(self, "n_samples", int(self.n_samples))

    def overridden(self, **values: Any) -> LossConvention:
        """This convention with every value given (not None) in place of its own."""
        return replace(self, **{k: v for k, v in values.items() if v is not None})


class DeclaredOracle:
    """Base of lossrecon's oracles: ``loss``, ``reduction``, ``dtype`` and ``n_samples``
    read from the one declared ``convention``."""

    n_params: int
    _convention: LossConvention

    @property
    def convention(self) -> LossConvention:
        """What this oracle declares of its loss."""
        return self._convention

    loss = property(lambda self: self.convention.loss, doc="the declared loss kind")
    reduction = property(lambda self: self.convention.reduction, doc="the declared reduction")
    dtype = property(lambda self: self.convention.dtype, doc="the declared arithmetic")
    n_samples = property(lambda self: self.convention.n_samples, doc="the declared M")


def convention_of(oracle: object) -> LossConvention:
    """What an oracle declares of its loss: its ``convention``, else its plain attributes."""
    declared = getattr(oracle, "convention", None)
    if isinstance(declared, LossConvention):
        return declared
    n_samples = getattr(oracle, "n_samples", None)
    if n_samples is None:
        n_samples = getattr(oracle, "num_examples", None)
    return LossConvention(
        loss=getattr(oracle, "loss", None),
        reduction=getattr(oracle, "reduction", None),
        dtype=getattr(oracle, "dtype", None),
        n_samples=n_samples,
    )


def validate_oracle(oracle: object) -> int:
    """Check that an object looks like a loss oracle and return its N."""
    n_params = getattr(oracle, "n_params", None)
    if not callable(oracle):
        raise OracleError(f"oracle {oracle!r} is not callable")
    if isinstance(n_params, bool) or not isinstance(n_params, (int, np.integer)) or n_params < 1:
        raise OracleError(
            f"oracle {oracle!r} must have a positive integer attribute n_params, got {n_params!r}"
        )
    return int(n_params)


class OracleWrapper(DeclaredOracle):
    """An oracle around another one (counting, journal, defenses, time limits...).

    It has the inner oracle's N and carries its convention, read afresh on every access
    (a Flower client's ``num_examples`` is learnt after the first round). Subclasses
    override ``__call__``; this one passes the batch through.
    """

    def __init__(self, oracle: object) -> None:
        self.n_params = validate_oracle(oracle)
        self.oracle: Any = oracle

    @property
    def convention(self) -> LossConvention:
        return convention_of(self.oracle)

    def __call__(self, W: np.ndarray) -> np.ndarray:
        return np.asarray(self.oracle(W), dtype=np.float64)


def require_squared_loss(oracle: object, attack: str) -> None:
    """Refuse an oracle that declares a loss other than a squared one.

    The attacks read the loss along lines as piecewise quadratic, which only a squared
    loss of a piecewise-linear network is; cross-entropy is piecewise analytic instead.
    """
    kind = convention_of(oracle).loss
    if kind not in (None, "squared"):
        raise ConfigurationError(
            f"the {attack} attack needs a squared loss (the paper's, or MSELoss), but the "
            f"oracle's loss is {kind!r}: along a line it is then not piecewise quadratic. "
            "Its kinks still sit on the samples' hyperplanes (docs/targets.md)"
        )


def squared_loss_convention(
    oracle: object, attack: str, reduction: str | None, n_samples: int | None
) -> tuple[str, int | None]:
    """What a squared-loss attack reads of an oracle: the reduction ("half_sum" unless
    declared or given) and M (None when neither declared nor given). Refuses another loss."""
    require_squared_loss(oracle, attack)
    declared = convention_of(oracle).overridden(reduction=reduction, n_samples=n_samples)
    return reduction_of(oracle, declared.reduction), declared.n_samples


def reduction_of(oracle: object, override: str | None = None) -> str:
    """The loss convention of an oracle: the override, its declared one, or
    :data:`ASSUMED_REDUCTION`."""
    reduction = override if override is not None else convention_of(oracle).reduction
    if reduction is None:
        return ASSUMED_REDUCTION
    if reduction not in REDUCTIONS:
        raise ConfigurationError(f"unknown reduction {reduction!r}; choose one of {REDUCTIONS}")
    return reduction


def reduction_scale(
    reduction: str, n_samples: float, n_outputs: int, loss: str = "squared"
) -> float:
    """Factor c with loss = c * sum_i ||b_i - F(a_i)||^2 under a reduction (cross-entropy:
    loss = c * sum_i CE_i).

    "half_sum" is the paper's 1/2, "sum" is ``MSELoss(reduction="sum")`` and "mean" is
    ``MSELoss(reduction="mean")``, which divides by the number of entries M * d_out;
    ``CrossEntropyLoss``'s "mean" divides by M.
    """
    if reduction == "half_sum":
        return 0.5
    if reduction == "sum":
        return 1.0
    if reduction == "mean":
        return 1.0 / (n_samples * (1 if loss == "cross_entropy" else n_outputs))
    raise ConfigurationError(f"unknown reduction {reduction!r}; choose one of {REDUCTIONS}")


def reduction_named(
    loss: str, kappa: float, n_samples: float, n_outputs: int, error: float
) -> str | None:
    """The reduction a measured loss factor κ (relative error ``error``) means, given
    the M samples found (None when none is, or none was found)."""
    if n_samples <= 0:
        return None
    names = ("sum", "mean", "half_sum") if loss == "squared" else ("sum", "mean")
    for name in names:
        value = reduction_scale(name, n_samples, n_outputs, loss)
        if abs(kappa - value) <= max(1e-3, 4.0 * error) * value:
            return name
    return None

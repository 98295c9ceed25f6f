"""Defenses a training pipeline can put between the loss and whoever reads it.

Each wraps a loss oracle and is itself one (``n_params``, ``__call__((K, N)) -> (K,)``,
the inner oracle's convention carried through), so every attack runs against it
unchanged. Lower-precision evaluation is ``NumpyLossOracle(dtype="float32" | "float16")``;
a smooth activation in place of ReLU is :class:`SoftplusLoss`, an oracle of its own.
"""

from __future__ import annotations

import numpy as np

from lossrecon.activations import Softplus
from lossrecon.errors import ConfigurationError
from lossrecon.network import ReLUNetwork
from lossrecon.oracle.numpy_oracle import NumpyLossOracle
from lossrecon.oracle.protocol import OracleWrapper

__all__ = ["ClippedLoss", "NoisyLoss", "RoundedLoss", "SoftplusLoss"]


class _Defense(OracleWrapper):
    """A defense that transforms the inner oracle's answers."""

    def __call__(self, W: np.ndarray) -> np.ndarray:
        return self.transform(super().__call__(W))

    def transform(self, losses: np.ndarray) -> np.ndarray:
        raise NotImplementedError


class NoisyLoss(_Defense):
    """E (1 + sigma ξ), ξ standard normal: Gaussian noise relative to the loss."""

    def __init__(
        self, oracle: object, sigma: float, random_state: int | np.random.Generator | None = 0
    ) -> None:
        super().__init__(oracle)
        if not sigma >= 0:
            raise ConfigurationError(f"sigma must be nonnegative, got {sigma}")
        self.sigma = float(sigma)
        self.rng = np.random.default_rng(random_state)

    def transform(self, losses: np.ndarray) -> np.ndarray:
        return losses * (1.0 + self.sigma * self.rng.standard_normal(losses.shape))


class RoundedLoss(_Defense):
    """The loss rounded to ``digits`` significant decimal digits."""

    def __init__(self, oracle: object, digits: int) -> None:
        super().__init__(oracle)
        if digits < 1:
            raise ConfigurationError(f"digits must be at least 1, got {digits}")
        self.digits = int(digits)

    def transform(self, losses: np.ndarray) -> np.ndarray:
        with np.errstate(divide="ignore"):
            exponent = np.floor(np.log10(np.abs(losses)))
        scale = 10.0 ** (self.digits - 1 - np.where(np.isfinite(exponent), exponent, 0))
        return np.round(losses * scale) / scale


class ClippedLoss(_Defense):
    """min(E, ceiling): the loss reported no higher than a ceiling."""

    def __init__(self, oracle: object, ceiling: float) -> None:
        super().__init__(oracle)
        self.ceiling = float(ceiling)

    def transform(self, losses: np.ndarray) -> np.ndarray:
        return np.minimum(losses, self.ceiling)


class SoftplusLoss(NumpyLossOracle):
    """The loss of the same network with softplus in place of ReLU.

    softplus_T(z) = T log(1 + exp(z / T)) tends to relu(z) as the temperature T -> 0;
    for T > 0 the loss is smooth everywhere, so no kink marks a sample's hyperplane. The
    defender computes E(w) this way on (inputs (M, n), targets (M, d_out)) with ``net``'s
    layout; the answer for a (K, N) batch has shape (K,).
    """

    def __init__(
        self,
        net: ReLUNetwork,
        inputs: object,
        targets: object,
        temperature: float,
        reduction: str = "half_sum",
    ) -> None:
        smooth = ReLUNetwork(net.widths, Softplus(float(temperature)), bias=net.bias)
        super().__init__(smooth, inputs, targets, reduction=reduction)
        self.temperature = float(temperature)

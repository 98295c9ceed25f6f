"""Defenses a training pipeline can put between the loss and whoever reads it.

Each wraps a loss oracle and is itself one (``n_params``, ``__call__((K, N)) -> (K,)``,
``reduction`` passed through), so every attack runs against it unchanged. Lower-precision
evaluation is ``NumpyLossOracle(dtype="float32" | "float16")``; a smooth activation in
place of ReLU is :class:`SoftplusLoss`, an oracle of its own.
"""

from __future__ import annotations

import numpy as np

from lossrecon.data import training_arrays
from lossrecon.errors import ConfigurationError
from lossrecon.network import ReLUNetwork
from lossrecon.oracle.counting import validate_oracle
from lossrecon.oracle.protocol import reduction_of, reduction_scale

__all__ = ["ClippedLoss", "NoisyLoss", "RoundedLoss", "SoftplusLoss"]


class _Defense:
    def __init__(self, oracle: object) -> None:
        self.n_params = validate_oracle(oracle)
        self.oracle = oracle
        if hasattr(oracle, "reduction"):
            self.reduction = oracle.reduction

    def __call__(self, W: np.ndarray) -> np.ndarray:
        return self.transform(np.asarray(self.oracle(W), dtype=np.float64))

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


class SoftplusLoss:
    """The loss of the same network with softplus in place of ReLU.

    softplus_T(z) = T log(1 + exp(z / T)) tends to relu(z) as the temperature T -> 0;
    for T > 0 the loss is smooth everywhere, so no kink marks a sample's hyperplane. The
    defender computes E(w) this way on (inputs (M, n), targets (M, d_out)) of a bias-free
    ``net``; the answer for a (K, N) batch has shape (K,).
    """

    def __init__(
        self,
        net: ReLUNetwork,
        inputs: object,
        targets: object,
        temperature: float,
        reduction: str = "half_sum",
    ) -> None:
        if not temperature > 0:
            raise ConfigurationError(f"temperature must be positive, got {temperature}")
        if net.bias:
            raise ConfigurationError("SoftplusLoss takes a bias-free network")
        self.net = net
        self.inputs, self.targets = training_arrays(inputs, targets, net.n_inputs, net.n_outputs)
        self.temperature = float(temperature)
        self.reduction = reduction_of(None, reduction)
        self.n_params = net.n_params
        self._scale = reduction_scale(self.reduction, len(self.inputs), net.n_outputs)

    def __call__(self, W: np.ndarray) -> np.ndarray:
        W = np.atleast_2d(np.asarray(W, dtype=np.float64))
        h = np.broadcast_to(self.inputs, (len(W), *self.inputs.shape))
        layers = self.net.unflatten(W)
        for k, (matrix, _) in enumerate(layers):
            z = h @ matrix.transpose(0, 2, 1)
            last = k == len(layers) - 1
            h = z if last else self.temperature * np.logaddexp(0.0, z / self.temperature)
        residual = h - self.targets
        return self._scale * np.einsum("kmd,kmd->k", residual, residual)

"""Defenses a training pipeline can put between the loss and whoever reads it.

Each wraps a loss oracle and is itself one (``n_params``, ``__call__((K, N)) -> (K,)``,
``reduction`` passed through), so every attack runs against it unchanged. Lower-precision
evaluation is ``NumpyLossOracle(dtype="float32" | "float16")``.
"""

from __future__ import annotations

import numpy as np

from lossrecon.errors import ConfigurationError
from lossrecon.oracle.counting import validate_oracle

__all__ = ["ClippedLoss", "NoisyLoss", "RoundedLoss"]


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

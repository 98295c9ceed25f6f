"""Piecewise-linear activations: ReLU, leaky ReLU, maxout and LWTA.

Each activation maps the pre-activations of one hidden layer, an array whose last axis
has ``width * pieces`` entries, to ``width`` outputs, and reports which linear piece is
in use (the activation pattern). Maxout is the only one with ``pieces > 1``: a hidden
layer of width h then has a linear map with ``h * k`` outputs, grouped as consecutive
blocks of k (unit j uses pre-activations ``j*k .. j*k + k - 1``), as ``z.view(..., h, k)``
groups them in PyTorch.

Activations are found by name through a small registry, :func:`make_activation`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from lossrecon.errors import ConfigurationError

__all__ = [
    "LWTA",
    "Activation",
    "LeakyReLU",
    "Maxout",
    "ReLU",
    "activation_names",
    "make_activation",
]


class Activation(ABC):
    """A piecewise-linear activation applied to one hidden layer."""

    name: str
    pieces: int = 1

    @abstractmethod
    def apply(self, z: np.ndarray) -> np.ndarray:
        """Outputs of the layer: z has shape (..., width * pieces), result (..., width)."""

    @abstractmethod
    def pattern(self, z: np.ndarray) -> np.ndarray:
        """Which linear piece each unit uses: shape (..., width).

        Boolean "active" for ReLU, leaky ReLU and LWTA (the LWTA winner); for maxout the
        index of the winning piece.
        """

    def check_width(self, width: int) -> None:
        """Raise ConfigurationError if a hidden layer of this width is impossible."""
        if width < 1:
            raise ConfigurationError(f"hidden width must be positive, got {width}")

    def params(self) -> dict[str, float | int]:
        """Parameters that, with the name, rebuild this activation."""
        return {}


@dataclass(frozen=True)
class ReLU(Activation):
    """max(0, z): the paper's activation."""

    name = "relu"

    def apply(self, z: np.ndarray) -> np.ndarray:
        return np.maximum(z, 0.0)

    def pattern(self, z: np.ndarray) -> np.ndarray:
        return z > 0


@dataclass(frozen=True)
class LeakyReLU(Activation):
    """z for z > 0, slope * z otherwise (PyTorch's ``nn.LeakyReLU(negative_slope)``)."""

    slope: float = 0.01
    name = "leaky_relu"

    def __post_init__(self) -> None:
        if not np.isfinite(self.slope) or self.slope == 1.0:
            raise ConfigurationError(
                f"leaky ReLU slope must be finite and differ from 1, got {self.slope}"
            )

    def apply(self, z: np.ndarray) -> np.ndarray:
        return np.where(z > 0, z, self.slope * z)

    def pattern(self, z: np.ndarray) -> np.ndarray:
        return z > 0

    def params(self) -> dict[str, float | int]:
        return {"slope": self.slope}


@dataclass(frozen=True)
class Maxout(Activation):
    """Maximum of k affine pieces per unit (Goodfellow et al. 2013)."""

    k: int = 2
    name = "maxout"

    def __post_init__(self) -> None:
        if self.k < 2:
            raise ConfigurationError(f"maxout needs at least 2 pieces, got k={self.k}")

    @property
    def pieces(self) -> int:  # type: ignore[override]
        return self.k

    def apply(self, z: np.ndarray) -> np.ndarray:
        return z.reshape(*z.shape[:-1], -1, self.k).max(axis=-1)

    def pattern(self, z: np.ndarray) -> np.ndarray:
        return z.reshape(*z.shape[:-1], -1, self.k).argmax(axis=-1)

    def params(self) -> dict[str, float | int]:
        return {"k": self.k}


@dataclass(frozen=True)
class LWTA(Activation):
    """Local winner takes all: in each block of k units only the largest passes.

    The winner keeps its pre-activation, the others output 0 (Srivastava et al. 2013).
    Ties go to the first unit of the block, as ``argmax`` breaks them.
    """

    k: int = 2
    name = "lwta"

    def __post_init__(self) -> None:
        if self.k < 2:
            raise ConfigurationError(f"LWTA needs blocks of at least 2 units, got k={self.k}")

    def check_width(self, width: int) -> None:
        super().check_width(width)
        if width % self.k:
            raise ConfigurationError(
                f"LWTA with block size {self.k} needs hidden widths divisible by {self.k}, "
                f"got {width}"
            )

    def apply(self, z: np.ndarray) -> np.ndarray:
        return z * self.pattern(z)

    def pattern(self, z: np.ndarray) -> np.ndarray:
        blocks = z.reshape(*z.shape[:-1], -1, self.k)
        winners = blocks.argmax(axis=-1)[..., None] == np.arange(self.k)
        return winners.reshape(z.shape)

    def params(self) -> dict[str, float | int]:
        return {"k": self.k}


_REGISTRY: dict[str, Callable[..., Activation]] = {
    "relu": ReLU,
    "leaky_relu": LeakyReLU,
    "maxout": Maxout,
    "lwta": LWTA,
}


def activation_names() -> list[str]:
    """Names :func:`make_activation` accepts."""
    return sorted(_REGISTRY)


def make_activation(activation: str | Activation, **params: float | int) -> Activation:
    """Return an Activation from a name and its parameters, or pass an instance through.

    >>> make_activation("maxout", k=3).pieces
    3
    """
    if isinstance(activation, Activation):
        if params:
            raise ConfigurationError("parameters given beside an Activation instance")
        return activation
    try:
        factory = _REGISTRY[activation]
    except KeyError:
        raise ConfigurationError(
            f"unknown activation {activation!r}; choose one of {activation_names()}"
        ) from None
    try:
        return factory(**params)
    except TypeError as exc:
        raise ConfigurationError(f"bad parameters for {activation!r}: {exc}") from None

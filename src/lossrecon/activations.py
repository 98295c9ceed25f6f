"""Activations as objects with behaviour: ReLU, leaky ReLU, maxout, LWTA and softplus.

Each activation maps the pre-activations of one hidden layer, an array whose last axis
has ``width * pieces`` entries, to ``width`` outputs, and says everything the rest of
the package needs to know about it, so that no other module asks which activation it
has:

- numerics: :meth:`~Activation.apply` (numpy arrays or torch tensors, keeping their
  dtype) and :meth:`~Activation.pattern` (which linear piece each unit uses);
- algebra: the formal states of a layer (:meth:`~Activation.states`, the paper's
  activation sets), its outputs with the pieces fixed (:meth:`~Activation.gate`), the
  boundaries of a unit's state (:meth:`~Activation.boundaries`);
- routing: how units group into blocks (``block``, LWTA) and pre-activations into
  pieces (``pieces``, maxout), so a chosen-weights attack can drive one path alone.

Maxout is the only one with ``pieces > 1``: a hidden layer of width h then has a linear
map with ``h * k`` outputs, grouped as consecutive blocks of k (unit j uses
pre-activations ``j*k .. j*k + k - 1``), as ``z.view(..., h, k)`` groups them in PyTorch.
Softplus is smooth, not piecewise linear (``piecewise_linear`` False): it is here as a
defense, and the algebra and the attacks refuse it.

Activations are found by name through a small registry, :func:`make_activation`.
Adding one means writing one subclass here (or anywhere: the registry is only for names).
"""

from __future__ import annotations

import itertools
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from types import ModuleType
from typing import Any, ClassVar, NamedTuple

import numpy as np

from lossrecon.errors import ConfigurationError

__all__ = [
    "LWTA",
    "Activation",
    "Boundary",
    "Grouped",
    "Hinge",
    "LeakyReLU",
    "Maxout",
    "ReLU",
    "Softplus",
    "activation_names",
    "array_namespace",
    "make_activation",
]

States = tuple[int, ...]


def array_namespace(z: Any) -> ModuleType:
    """The module whose functions act on z: torch for a tensor, numpy otherwise.

    Activations are written once, with functions both modules have (``where``,
    ``zeros_like``, ``amax``, ``argmax``, ``arange``), so the same forward pass runs on
    numpy arrays and on torch tensors under autograd.
    """
    if type(z).__module__.startswith("torch"):
        import torch

        return torch
    return np


class Boundary(NamedTuple):
    """One way a hidden unit can leave its state: the polynomial whose sign change does
    it, its orientation (``sign * polynomial > 0`` in the current state) and the layer's
    states on the other side."""

    polynomial: Any
    sign: int
    flipped: States


class Activation(ABC):
    """A piecewise-linear activation applied to one hidden layer."""

    name: str
    pieces: int = 1  # pre-activations per unit (maxout: k)
    block: int = 1  # units that compete with one another (LWTA: k)
    piecewise_linear: bool = True

    # -- numerics -------------------------------------------------------------------
    @abstractmethod
    def apply(self, z: Any) -> Any:
        """Outputs of the layer: z has shape (..., width * pieces), result (..., width)."""

    @abstractmethod
    def pattern(self, z: Any) -> Any:
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

    @property
    def rectifies(self) -> bool:
        """Whether each unit, on its own, outputs exactly 0 for every negative
        pre-activation and passes a positive one unchanged: what exact gates need
        (relu of a negative number is exactly 0 in every floating-point format)."""
        return False

    def require_piecewise_linear(self, purpose: str) -> None:
        """Refuse an activation that is not piecewise linear, naming what needed it."""
        if not self.piecewise_linear:
            raise ConfigurationError(f"{purpose} needs a piecewise-linear activation, not {self}")

    # -- algebra (the paper's activation sets) ----------------------------------------
    @abstractmethod
    def states(self, width: int) -> list[States]:
        """Every formal state of a hidden layer of this width, the all-active one first."""

    @abstractmethod
    def gate(self, z: Sequence[Any], states: States) -> list[Any]:
        """The layer's outputs when its units follow ``states``: z holds the layer's
        width * pieces pre-activations (sympy expressions or numbers)."""

    @abstractmethod
    def boundaries(self, z: Sequence[Any], states: States, unit: int) -> list[Boundary]:
        """The boundaries across which unit ``unit`` (0-based) leaves its state."""

    def kills_layer(self, states: States) -> bool:
        """Whether a layer in these states outputs exactly zero whatever its input."""
        return False

    def carries_signal(self, states: States) -> list[int]:
        """0-based units whose output depends on their input under these states."""
        return [j for j, s in enumerate(states) if s]

    def state_label(self, state: int) -> str:
        """How the paper's set notation names a state."""
        return "active" if state else "negative"

    # -- routing ------------------------------------------------------------------------
    def paths(self, width: int) -> int:
        """How many independent paths a hidden layer of this width can carry."""
        return width // self.block

    def path_unit(self, path: Any) -> Any:
        """The unit that carries path ``path`` (the first of its LWTA block)."""
        return path * self.block

    def row(self, unit: Any, piece: Any = 0) -> Any:
        """The pre-activation row of a unit's piece in the layer's matrix."""
        return unit * self.pieces + piece

    def __str__(self) -> str:
        params = ", ".join(f"{k}={v}" for k, v in self.params().items())
        return f"{self.name}({params})" if params else self.name


class Hinge(Activation):
    """Slope 1 above zero and ``negative_slope`` below: ReLU, leaky ReLU and kin.

    One kink at 0 per unit; its states are 1 (positive side) and 0 (negative side).
    """

    negative_slope: float = 0.0

    def apply(self, z: Any) -> Any:
        if self.negative_slope == 0:
            return z.clip(min=0)  # numpy and torch alike; 3.6x faster than a where
        return array_namespace(z).where(z > 0, z, self.negative_slope * z)

    def pattern(self, z: Any) -> Any:
        return z > 0

    def states(self, width: int) -> list[States]:
        return list(itertools.product((1, 0), repeat=width))

    def _symbolic_slope(self) -> Any:
        import sympy

        return sympy.nsimplify(self.negative_slope)

    def gate(self, z: Sequence[Any], states: States) -> list[Any]:
        slope = self._symbolic_slope()
        return [zj if s else slope * zj for zj, s in zip(z, states, strict=True)]

    def boundaries(self, z: Sequence[Any], states: States, unit: int) -> list[Boundary]:
        flipped = tuple(1 - s if j == unit else s for j, s in enumerate(states))
        return [Boundary(z[unit], 1 if states[unit] else -1, flipped)]

    @property
    def rectifies(self) -> bool:
        return self.negative_slope == 0

    def kills_layer(self, states: States) -> bool:
        return self.negative_slope == 0 and not any(states)

    def carries_signal(self, states: States) -> list[int]:
        if self.negative_slope == 0:
            return super().carries_signal(states)
        return list(range(len(states)))


@dataclass(frozen=True)
class ReLU(Hinge):
    """max(0, z): the paper's activation."""

    name = "relu"


@dataclass(frozen=True)
class LeakyReLU(Hinge):
    """z for z > 0, slope * z otherwise (PyTorch's ``nn.LeakyReLU(negative_slope)``)."""

    slope: float = 0.01
    name = "leaky_relu"

    def __post_init__(self) -> None:
        if not np.isfinite(self.slope) or self.slope == 1.0:
            raise ConfigurationError(
                f"leaky ReLU slope must be finite and differ from 1, got {self.slope}"
            )

    @property
    def negative_slope(self) -> float:  # type: ignore[override]
        return self.slope

    def params(self) -> dict[str, float | int]:
        return {"slope": self.slope}


@dataclass(frozen=True)
class Grouped(Activation):
    """An activation over groups of k consecutive values: maxout's pieces, LWTA's blocks."""

    k: int = 2
    groups: ClassVar[str]  # "pieces": k pre-activations a unit; "units": k units a block

    def __post_init__(self) -> None:
        if self.k < 2:
            raise ConfigurationError(f"{self.name} needs at least 2 {self.groups}, got k={self.k}")

    @property
    def pieces(self) -> int:  # type: ignore[override]
        return self.k if self.groups == "pieces" else 1

    @property
    def block(self) -> int:  # type: ignore[override]
        return self.k if self.groups == "units" else 1

    def params(self) -> dict[str, float | int]:
        return {"k": self.k}

    def _blocks(self, z: Any) -> Any:
        """z (..., g * k) as (..., g, k)."""
        return z.reshape(*z.shape[:-1], -1, self.k)


@dataclass(frozen=True)
class Maxout(Grouped):
    """Maximum of k affine pieces per unit (Goodfellow et al. 2013)."""

    name = "maxout"
    groups = "pieces"

    def apply(self, z: Any) -> Any:
        return array_namespace(z).amax(self._blocks(z), -1)

    def pattern(self, z: Any) -> Any:
        return array_namespace(z).argmax(self._blocks(z), -1)

    def states(self, width: int) -> list[States]:
        return list(itertools.product(range(self.k), repeat=width))

    def gate(self, z: Sequence[Any], states: States) -> list[Any]:
        return [z[self.row(j, s)] for j, s in enumerate(states)]

    def boundaries(self, z: Sequence[Any], states: States, unit: int) -> list[Boundary]:
        own = z[self.row(unit, states[unit])]
        return [
            Boundary(
                own - z[self.row(unit, piece)],
                1,
                tuple(piece if j == unit else s for j, s in enumerate(states)),
            )
            for piece in range(self.k)
            if piece != states[unit]
        ]

    def carries_signal(self, states: States) -> list[int]:
        return list(range(len(states)))

    def state_label(self, state: int) -> str:
        return f"piece {state + 1}"


@dataclass(frozen=True)
class LWTA(Grouped):
    """Local winner takes all: in each block of k units only the largest passes.

    The winner keeps its pre-activation, the others output 0 (Srivastava et al. 2013).
    Ties go to the first unit of the block, as ``argmax`` breaks them.
    """

    name = "lwta"
    groups = "units"

    def check_width(self, width: int) -> None:
        super().check_width(width)
        if width % self.k:
            raise ConfigurationError(
                f"LWTA with block size {self.k} needs hidden widths divisible by {self.k}, "
                f"got {width}"
            )

    def apply(self, z: Any) -> Any:
        xp = array_namespace(z)
        return xp.where(self.pattern(z), z, xp.zeros_like(z))

    def pattern(self, z: Any) -> Any:
        xp = array_namespace(z)
        winners = xp.argmax(self._blocks(z), -1)[..., None] == xp.arange(self.k)
        return winners.reshape(z.shape)

    def states(self, width: int) -> list[States]:
        one_hots = [tuple(int(i == w) for i in range(self.k)) for w in range(self.k)]
        blocks = itertools.product(one_hots, repeat=width // self.k)
        return [tuple(itertools.chain.from_iterable(b)) for b in blocks]

    def gate(self, z: Sequence[Any], states: States) -> list[Any]:
        return [zj if s else 0 for zj, s in zip(z, states, strict=True)]

    def boundaries(self, z: Sequence[Any], states: States, unit: int) -> list[Boundary]:
        members = range(unit // self.k * self.k, unit // self.k * self.k + self.k)
        winner = next(m for m in members if states[m])
        losers = [unit] if unit != winner else [m for m in members if m != winner]
        found = []
        for loser in losers:
            flipped = list(states)
            flipped[winner], flipped[loser] = 0, 1
            found.append(Boundary(z[winner] - z[loser], 1, tuple(flipped)))
        return found


@dataclass(frozen=True)
class Softplus(Activation):
    """T log(1 + exp(z / T)), which tends to relu(z) as the temperature T -> 0.

    Smooth for T > 0, so no kink marks a sample's hyperplane: a defense, not a network
    the algebra or the attacks describe.
    """

    temperature: float = 1.0
    name = "softplus"
    piecewise_linear = False

    def __post_init__(self) -> None:
        if not self.temperature > 0:
            raise ConfigurationError(f"temperature must be positive, got {self.temperature}")

    def apply(self, z: Any) -> Any:
        xp = array_namespace(z)
        return self.temperature * xp.logaddexp(xp.zeros_like(z), z / self.temperature)

    def pattern(self, z: Any) -> Any:
        return z > 0

    def params(self) -> dict[str, float | int]:
        return {"temperature": self.temperature}

    def states(self, width: int) -> list[States]:
        raise self._not_piecewise("activation sets")

    def gate(self, z: Sequence[Any], states: States) -> list[Any]:
        raise self._not_piecewise("fixed pieces")

    def boundaries(self, z: Sequence[Any], states: States, unit: int) -> list[Boundary]:
        raise self._not_piecewise("boundaries")

    def _not_piecewise(self, what: str) -> ConfigurationError:
        return ConfigurationError(f"{self} is smooth: it has no {what}")


_REGISTRY: dict[str, Callable[..., Activation]] = {
    "relu": ReLU,
    "leaky_relu": LeakyReLU,
    "maxout": Maxout,
    "lwta": LWTA,
    "softplus": Softplus,
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

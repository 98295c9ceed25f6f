"""A fully connected network: widths, an activation, biases or not.

:class:`ReLUNetwork` ties a :class:`~lossrecon.layout.Layout` (where each weight sits in
w, PyTorch's order) to an :class:`~lossrecon.activations.Activation` (what the hidden
units do); the forward pass is :func:`lossrecon.layout.pre_activations`, batched over K
weight vectors and M inputs with matrix products only.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from lossrecon.activations import Activation, make_activation
from lossrecon.errors import ConfigurationError
from lossrecon.layout import LayerSlice, Layout, as_floating, pre_activations

__all__ = ["LayerSlice", "ReLUNetwork", "as_network"]


class ReLUNetwork:
    """A fully connected network with a piecewise-linear activation on hidden layers.

    Parameters
    ----------
    widths:
        ``[n, h1, ..., d_out]``, at least two entries (input and output).
    activation:
        ``"relu"`` (default), ``"leaky_relu"``, ``"maxout"``, ``"lwta"`` or an
        :class:`~lossrecon.activations.Activation` instance.
    bias:
        whether every layer has a bias vector.
    **activation_params:
        parameters of the named activation (``slope`` for leaky ReLU, ``k`` for maxout
        and LWTA).
    """

    def __init__(
        self,
        widths: Sequence[int],
        activation: str | Activation = "relu",
        bias: bool = False,
        **activation_params: float | int,
    ) -> None:
        widths = list(Layout(tuple(widths)).widths)
        self.widths: list[int] = widths
        self.activation: Activation = make_activation(activation, **activation_params)
        for hidden in widths[1:-1]:
            self.activation.check_width(hidden)
        self.bias = bool(bias)
        self.layout = Layout(tuple(widths), self.activation.pieces, self.bias)
        self.layers: tuple[LayerSlice, ...] = self.layout.layers
        self.n_params: int = self.layout.n_params

    @property
    def n_inputs(self) -> int:
        return self.widths[0]

    @property
    def n_outputs(self) -> int:
        return self.widths[-1]

    @property
    def depth(self) -> int:
        """Number of weight layers, L - 1 in the paper's notation."""
        return len(self.layers)

    def __repr__(self) -> str:
        params = "".join(f", {k}={v}" for k, v in self.activation.params().items())
        return (
            f"ReLUNetwork({self.widths}, activation={self.activation.name!r}"
            f"{params}, bias={self.bias})"
        )

    def random_weights(
        self, k: int | None = None, random_state: int | np.random.Generator | None = None
    ) -> np.ndarray:
        """He-initialised Gaussian weight vectors: shape (N,), or (k, N) when k is given."""
        rng = np.random.default_rng(random_state)
        shape = (self.n_params,) if k is None else (k, self.n_params)
        w = np.empty(shape)
        for layer in self.layers:
            fan_in = layer.shape[1]
            scale = np.sqrt(2.0 / fan_in)
            w[..., layer.weight] = rng.normal(0.0, scale, w[..., layer.weight].shape)
            if layer.bias is not None:
                w[..., layer.bias] = rng.normal(0.0, 0.1, w[..., layer.bias].shape)
        return w

    def flatten(
        self, weights: Sequence[np.ndarray], biases: Sequence[np.ndarray] | None = None
    ) -> np.ndarray:
        """Concatenate layer matrices (and biases) into one weight vector of shape (N,)."""
        return self.layout.flatten(weights, biases)

    def unflatten(self, w: Any) -> list[tuple[Any, Any | None]]:
        """Per-layer (matrix, bias) views of w (N,) or (K, N): see :meth:`Layout.unflatten`."""
        return self.layout.unflatten(w)

    def pre_activations(self, W: np.ndarray, inputs: np.ndarray) -> list[np.ndarray]:
        """Pre-activations of every layer.

        W: (K, N) weight vectors; inputs: (M, n). Returns one array per weight layer,
        of shape (K, M, out_k); the last one is the network output. Floating arrays keep
        their precision (float32 and float16 evaluate in float32 and float16).
        """
        W = as_floating(W)
        return pre_activations(
            self.layout, self.activation, W[None] if W.ndim == 1 else W, as_floating(inputs)
        )

    def forward(self, W: np.ndarray, inputs: np.ndarray) -> np.ndarray:
        """Network outputs F_w(a_i) for every weight vector and input.

        W: (K, N) or (N,); inputs: (M, n). Returns (K, M, d_out), or (M, d_out) for a
        single weight vector of shape (N,).
        """
        out = self.pre_activations(W, inputs)[-1]
        return out[0] if np.ndim(W) == 1 else out

    def activation_patterns(self, w: np.ndarray, inputs: np.ndarray) -> list[np.ndarray]:
        """Which piece every hidden unit uses, per hidden layer.

        w: (N,); inputs: (M, n). Returns one (M, h_k) array per hidden layer: booleans
        (active / LWTA winner) or, for maxout, the index of the winning piece.
        """
        zs = self.pre_activations(np.asarray(w, dtype=float)[None, :], inputs)
        return [self.activation.pattern(z[0]) for z in zs[:-1]]


def as_network(
    model: Sequence[int] | ReLUNetwork,
    activation: str | Activation = "relu",
    bias: bool = False,
    **activation_params: float | int,
) -> ReLUNetwork:
    """The model an attack is told: a ReLUNetwork as it is, or widths with an activation
    and biases (then a ReLUNetwork is built from them)."""
    if isinstance(model, ReLUNetwork):
        differs = activation != "relu" and make_activation(activation) != model.activation
        if activation_params or (bias and not model.bias) or differs:
            raise ConfigurationError(
                f"the architecture is given twice: {model}, and activation or bias beside it"
            )
        return model
    if type(model).__module__.startswith("torch") or hasattr(model, "parameters"):
        raise ConfigurationError(
            f"the architecture is given as a {type(model).__name__} model; attacks take "
            "its widths [n, h1, ..., d_out] (with bias= and activation=) or a "
            "ReLUNetwork: reading a torch.nn.Module is not built yet"
        )
    if isinstance(model, (str, bytes)) or not isinstance(model, (Sequence, np.ndarray)):
        raise ConfigurationError(
            f"widths must be a list of layer widths [n, h1, ..., d_out], got {model!r:.60}"
        )
    return ReLUNetwork(model, activation=activation, bias=bias, **activation_params)

"""Fully connected piecewise-linear networks and their weight-vector layout.

A network of widths ``[n, h1, ..., d_out]`` has weight layers W_1 .. W_{L-1}; W_k has
shape ``(d_{k+1} * pieces, d_k)`` (pieces > 1 only for maxout hidden layers; the output
layer is always plain affine). The weight vector ``w`` in R^N concatenates them row-major,
each layer's bias right after its matrix: PyTorch's ``parameters_to_vector`` order for an
``nn.Sequential`` of ``nn.Linear`` layers.

The forward pass takes a batch of K weight vectors and M inputs at once and uses only
batched matrix products (no Python loop over samples or weight vectors).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from lossrecon.activations import Activation, make_activation
from lossrecon.errors import ConfigurationError

__all__ = ["LayerSlice", "ReLUNetwork"]


def _floating(a: object) -> np.ndarray:
    """a as a numpy array, float64 unless it already is a floating array."""
    array = np.asarray(a)
    return array if array.dtype.kind == "f" else array.astype(np.float64)


@dataclass(frozen=True)
class LayerSlice:
    """Where one weight layer sits in the weight vector.

    ``weight`` and ``bias`` are slices of w; ``shape`` is the matrix shape (out, in).
    """

    weight: slice
    bias: slice | None
    shape: tuple[int, int]


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
        widths = [int(w) for w in widths]
        if len(widths) < 2:
            raise ConfigurationError(
                f"widths must list at least the input and output widths, got {widths}"
            )
        if any(w < 1 for w in widths):
            raise ConfigurationError(f"every width must be positive, got {widths}")
        self.widths: list[int] = widths
        self.activation: Activation = make_activation(activation, **activation_params)
        for hidden in widths[1:-1]:
            self.activation.check_width(hidden)
        self.bias = bool(bias)
        self.layers: list[LayerSlice] = self._layout()
        self.n_params: int = self.layers[-1].bias.stop if self.bias else self.layers[-1].weight.stop

    def _layout(self) -> list[LayerSlice]:
        layers = []
        start = 0
        n_layers = len(self.widths) - 1
        for k in range(n_layers):
            pieces = self.activation.pieces if k < n_layers - 1 else 1
            shape = (self.widths[k + 1] * pieces, self.widths[k])
            weight = slice(start, start + shape[0] * shape[1])
            start = weight.stop
            bias = None
            if self.bias:
                bias = slice(start, start + shape[0])
                start = bias.stop
            layers.append(LayerSlice(weight, bias, shape))
        return layers

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
        if len(weights) != self.depth:
            raise ConfigurationError(f"expected {self.depth} weight matrices, got {len(weights)}")
        if self.bias != (biases is not None):
            raise ConfigurationError(
                f"biases must be given exactly when the network has them (bias={self.bias})"
            )
        w = np.empty(self.n_params)
        for k, layer in enumerate(self.layers):
            matrix = np.asarray(weights[k], dtype=float)
            if matrix.shape != layer.shape:
                raise ConfigurationError(
                    f"layer {k + 1} matrix has shape {matrix.shape}, expected {layer.shape}"
                )
            w[layer.weight] = matrix.ravel()
            if layer.bias is not None and biases is not None:
                b = np.asarray(biases[k], dtype=float)
                if b.shape != (layer.shape[0],):
                    raise ConfigurationError(
                        f"layer {k + 1} bias has shape {b.shape}, expected ({layer.shape[0]},)"
                    )
                w[layer.bias] = b
        return w

    def unflatten(self, w: np.ndarray) -> list[tuple[np.ndarray, np.ndarray | None]]:
        """Split weight vectors into per-layer (matrix, bias) views.

        w has shape (N,) or (K, N); matrices come back as (out, in) or (K, out, in),
        biases as (out,) or (K, out), or None without biases.
        """
        w = np.asarray(w)
        if w.shape[-1] != self.n_params:
            raise ConfigurationError(
                f"weight vector has {w.shape[-1]} entries, this network has N={self.n_params}"
            )
        lead = w.shape[:-1]
        return [
            (
                w[..., layer.weight].reshape(*lead, *layer.shape),
                None if layer.bias is None else w[..., layer.bias],
            )
            for layer in self.layers
        ]

    def pre_activations(self, W: np.ndarray, inputs: np.ndarray) -> list[np.ndarray]:
        """Pre-activations of every layer.

        W: (K, N) weight vectors; inputs: (M, n). Returns one array per weight layer,
        of shape (K, M, out_k); the last one is the network output. Floating arrays keep
        their precision (float32 and float16 evaluate in float32 and float16).
        """
        W = np.atleast_2d(_floating(W))
        x = _floating(inputs)
        if x.ndim != 2 or x.shape[1] != self.n_inputs:
            raise ConfigurationError(f"inputs must have shape (M, {self.n_inputs}), got {x.shape}")
        zs = []
        layers = self.unflatten(W)
        for k, (matrix, bias) in enumerate(layers):
            z = x @ matrix.transpose(0, 2, 1)
            if bias is not None:
                z = z + bias[:, None, :]
            zs.append(z)
            if k < len(layers) - 1:
                x = self.activation.apply(z)
        return zs

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

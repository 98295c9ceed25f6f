"""The weight layout and the forward pass: the one place that knows where each weight sits.

A network of widths ``[n, h1, ..., d_out]`` has weight layers W_1 .. W_{L-1}; W_k has
shape ``(d_{k+1} * pieces, d_k)`` (pieces > 1 only for maxout hidden layers; the output
layer is always plain affine). The weight vector ``w`` in R^N concatenates them
row-major, each layer's bias right after its matrix: PyTorch's ``parameters_to_vector``
order for an ``nn.Sequential`` of ``nn.Linear`` layers.

Everything here is pure: a :class:`Layout` is a frozen value, and :func:`pre_activations`
works on numpy arrays and torch tensors alike (autograd included), in the precision it is
given, using only batched matrix products.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from lossrecon.activations import Activation, array_namespace
from lossrecon.errors import ConfigurationError

__all__ = ["LayerSlice", "Layout", "as_floating", "forward", "pre_activations"]


@dataclass(frozen=True)
class LayerSlice:
    """Where one weight layer sits in the weight vector.

    ``weight`` and ``bias`` are slices of w; ``shape`` is the matrix shape (out, in).
    """

    weight: slice
    bias: slice | None
    shape: tuple[int, int]


@dataclass(frozen=True)
class Layout:
    """Parameter order and shapes of a fully connected network.

    ``widths`` is ``[n, h1, ..., d_out]``; ``pieces`` the pre-activations per hidden
    unit (maxout's k, else 1); ``bias`` whether every layer has a bias vector.
    """

    widths: tuple[int, ...]
    pieces: int = 1
    bias: bool = False
    layers: tuple[LayerSlice, ...] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        widths = tuple(int(w) for w in self.widths)
        if len(widths) < 2:
            raise ConfigurationError(
                f"widths must list at least the input and output widths, got {list(widths)}"
            )
        if any(w < 1 for w in widths):
            raise ConfigurationError(f"every width must be positive, got {list(widths)}")
        object.__setattr__(self, "widths", widths)
        layers, start = [], 0
        n_layers = len(widths) - 1
        for k in range(n_layers):
            pieces = self.pieces if k < n_layers - 1 else 1
            shape = (widths[k + 1] * pieces, widths[k])
            weight = slice(start, start + shape[0] * shape[1])
            start = weight.stop
            bias = None
            if self.bias:
                bias = slice(start, start + shape[0])
                start = bias.stop
            layers.append(LayerSlice(weight, bias, shape))
        object.__setattr__(self, "layers", tuple(layers))

    @property
    def n_params(self) -> int:
        last = self.layers[-1]
        return last.bias.stop if last.bias is not None else last.weight.stop

    @property
    def shapes(self) -> list[tuple[int, int]]:
        """Matrix shapes (out, in), layer by layer."""
        return [layer.shape for layer in self.layers]

    def row_indices(self, layer: int, row: Any) -> np.ndarray:
        """Indices in w of row(s) ``row`` of weight layer ``layer`` (0-based) : shape
        (..., in) for an integer array of rows of shape (...)."""
        start, (_, cols) = self.layers[layer].weight.start, self.layers[layer].shape
        return start + np.asarray(row)[..., None] * cols + np.arange(cols)

    def entry_indices(self, layer: int, rows: Any, cols: Any) -> np.ndarray:
        """Indices in w of the entries (rows, cols) of weight layer ``layer`` (0-based),
        ``rows`` and ``cols`` integer arrays broadcast against each other."""
        start, (_, width) = self.layers[layer].weight.start, self.layers[layer].shape
        return start + np.asarray(rows) * width + np.asarray(cols)

    def bias_indices(self, layer: int, rows: Any) -> np.ndarray:
        """Indices in w of the biases of rows ``rows`` of weight layer ``layer``."""
        bias = self.layers[layer].bias
        if bias is None:
            raise ConfigurationError(f"layer {layer + 1} has no bias (bias={self.bias})")
        return bias.start + np.asarray(rows)

    def flatten(
        self, weights: Sequence[np.ndarray], biases: Sequence[np.ndarray] | None = None
    ) -> np.ndarray:
        """Concatenate layer matrices (and biases) into one weight vector of shape (N,)."""
        if len(weights) != len(self.layers):
            raise ConfigurationError(
                f"expected {len(self.layers)} weight matrices, got {len(weights)}"
            )
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

    def unflatten(self, w: Any) -> list[tuple[Any, Any | None]]:
        """Split weight vectors into per-layer (matrix, bias) views.

        w has shape (N,) or (K, N) (numpy or torch); matrices come back as (out, in) or
        (K, out, in), biases as (out,) or (K, out), or None without biases.
        """
        if w.shape[-1] != self.n_params:
            raise ConfigurationError(
                f"weight vector has {w.shape[-1]} entries, this network has N={self.n_params}"
            )
        lead = tuple(w.shape[:-1])
        return [
            (
                w[..., layer.weight].reshape(*lead, *layer.shape),
                None if layer.bias is None else w[..., layer.bias],
            )
            for layer in self.layers
        ]

    def arrays(self, w: Any) -> list[Any]:
        """The parameter arrays of one weight vector (N,) in a PyTorch state_dict's
        order — each layer's matrix (out, in), then its bias (out,) if it has one."""
        return [a for pair in self.unflatten(w) for a in pair if a is not None]


def pre_activations(layout: Layout, activation: Activation, W: Any, inputs: Any) -> list[Any]:
    """Pre-activations of every layer for K weight vectors.

    W: (K, N). inputs: (M, n), shared by every weight vector, or (K, M, n), one set per
    weight vector. Returns one array per weight layer, of shape (K, M, out_k); the last
    is the network output. numpy and torch in, the same out, in the precision given.
    """
    if inputs.ndim not in (2, 3) or inputs.shape[-1] != layout.widths[0]:
        raise ConfigurationError(
            f"inputs must have shape (M, {layout.widths[0]}) or (K, M, {layout.widths[0]}), "
            f"got {tuple(inputs.shape)}"
        )
    x = inputs
    zs = []
    layers = layout.unflatten(W)
    for k, (matrix, bias) in enumerate(layers):
        z = x @ matrix.swapaxes(-1, -2)
        if bias is not None:
            z = z + bias[..., None, :]
        zs.append(z)
        if k < len(layers) - 1:
            x = activation.apply(z)
    return zs


def forward(layout: Layout, activation: Activation, W: Any, inputs: Any) -> Any:
    """Network outputs F_w(a_i): shape (K, M, d_out), as :func:`pre_activations`."""
    return pre_activations(layout, activation, W, inputs)[-1]


def as_floating(a: object) -> Any:
    """a as an array, float64 unless it already is a floating numpy array or a tensor."""
    if array_namespace(a) is not np:
        return a
    array = np.asarray(a)
    return array if array.dtype.kind == "f" else array.astype(np.float64)

"""Turn a few first-layer rows and output vectors into full weight vectors of a network.

Path u carries ``relu(w_u · a')`` from the first layer to the output: it owns one unit
in every hidden layer (the first unit of block u for LWTA, piece 0 of unit u for
maxout), every other weight is 0, and the last layer sends it out along ``c_u``. Then

    F(a) = sum_u c_u * phi(w_u · a'),   phi = gain * relu + slope * identity,

with a' = (a, 1) when the network has biases (the bias of row u is w_u's last entry).
ReLU, maxout and LWTA give phi = relu. Leaky ReLU with slope alpha over D hidden layers
gives phi(s) = s for s > 0 and alpha^D s otherwise, i.e. gain 1 - alpha^D and slope
alpha^D; combinations whose rows sum to zero (sum_u c_u w_u = 0) cancel the linear part.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lossrecon.activations import LWTA, LeakyReLU, Maxout
from lossrecon.errors import ConfigurationError
from lossrecon.network import ReLUNetwork

__all__ = ["Router"]


@dataclass(frozen=True)
class _PathIndex:
    first_rows: np.ndarray  # (U,) rows of W_1 owned by the paths
    hidden: list[tuple[np.ndarray, np.ndarray]]  # per later hidden layer: (rows, cols)
    output_cols: np.ndarray  # (U,) columns of the last matrix


class Router:
    """Builds weight vectors that route ``n_paths`` first-layer rows to the output."""

    def __init__(self, net: ReLUNetwork, n_paths: int) -> None:
        act = net.activation
        capacity = min(self._units(act, h) for h in net.widths[1:-1])
        if capacity < n_paths:
            raise ConfigurationError(
                f"{net} has room for {capacity} parallel paths through its hidden layers; "
                f"this attack needs {n_paths} (every hidden layer needs width >= {n_paths}"
                + (f" blocks of {act.k}" if isinstance(act, LWTA) else "")
                + ")"
            )
        self.net = net
        self.n_paths = n_paths
        self.input_dim = net.n_inputs + int(net.bias)
        depth = len(net.widths) - 2
        slope = act.slope**depth if isinstance(act, LeakyReLU) else 0.0
        self.gain = 1.0 - slope
        self.slope = slope
        self._index = self._paths()

    @staticmethod
    def _units(act: object, width: int) -> int:
        return width // act.k if isinstance(act, LWTA) else width

    def _unit(self, path: np.ndarray) -> np.ndarray:
        act = self.net.activation
        return path * act.k if isinstance(act, LWTA) else path

    def _row(self, unit: np.ndarray) -> np.ndarray:
        act = self.net.activation
        return unit * act.k if isinstance(act, Maxout) else unit

    def _paths(self) -> _PathIndex:
        paths = np.arange(self.n_paths)
        units = self._unit(paths)
        hidden = []
        for _ in self.net.layers[1:-1]:
            hidden.append((self._row(units), units))
        return _PathIndex(self._row(units), hidden, units)

    def weights(self, rows: np.ndarray, outputs: np.ndarray) -> np.ndarray:
        """Weight vectors for K queries.

        rows: (K, U, n') first-layer rows (bias last when the network has biases);
        outputs: (K, U, d_out) output vectors c_u. Returns W of shape (K, N).
        """
        rows = np.asarray(rows, dtype=float)
        outputs = np.asarray(outputs, dtype=float)
        k = rows.shape[0]
        if rows.shape[1:] != (self.n_paths, self.input_dim):
            raise ConfigurationError(
                f"rows must have shape (K, {self.n_paths}, {self.input_dim}), got {rows.shape}"
            )
        W = np.zeros((k, self.net.n_params))
        layers = self.net.layers
        index = self._index
        n = self.net.n_inputs
        first = layers[0]
        base = first.weight.start + index.first_rows[:, None] * n + np.arange(n)
        W[:, base] = rows[:, :, :n]
        if self.net.bias:
            W[:, first.bias.start + index.first_rows] = rows[:, :, n]
        for layer, (out_rows, in_cols) in zip(layers[1:-1], index.hidden, strict=True):
            W[:, layer.weight.start + out_rows * layer.shape[1] + in_cols] = 1.0
        last = layers[-1]
        d_out, width = last.shape
        cols = last.weight.start + np.arange(d_out)[None, :] * width + index.output_cols[:, None]
        W[:, cols] = outputs
        return W

"""Turn a few first-layer rows and output vectors into full weight vectors of a network.

Path u carries ``relu(w_u · a')`` from the first layer to the output: it owns one unit
in every hidden layer (the first unit of block u for LWTA, piece 0 of unit u for
maxout), every other weight is 0, and the last layer sends it out along ``c_u``. Then

    F(a) = sum_u c_u * phi(w_u · a'),   phi = gain * relu + slope * identity,

with a' = (a, 1) when the network has biases (the bias of row u is w_u's last entry).
ReLU, maxout and LWTA give phi = relu. Leaky ReLU with slope alpha over D hidden layers
gives phi(s) = s for s > 0 and alpha^D s otherwise, i.e. gain 1 - alpha^D and slope
alpha^D. The router finds gain and slope by running the activation itself on s = ±1, so
any activation that is linear on each side of 0 routes the same way. Combinations whose
rows sum to zero (sum_u c_u w_u = 0) cancel the linear part.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lossrecon.errors import ConfigurationError
from lossrecon.network import ReLUNetwork

__all__ = ["Router", "hat_fit"]


@dataclass(frozen=True)
class _PathIndex:
    first_rows: np.ndarray  # (U,) rows of W_1 owned by the paths
    hidden: list[tuple[np.ndarray, np.ndarray]]  # per later hidden layer: (rows, cols)
    output_cols: np.ndarray  # (U,) columns of the last matrix


def hat_fit(net: ReLUNetwork, n_paths: int = 3) -> str | None:
    """Why the hat cannot route ``n_paths`` paths through ``net``, or None when it can."""
    act = net.activation
    if not act.piecewise_linear:
        return f"the hat needs a piecewise-linear activation, not {act}"
    capacity = min(act.paths(h) for h in net.widths[1:-1])
    if capacity < n_paths:
        blocks = f" blocks of {act.block}" if act.block > 1 else ""
        return (
            f"{net} has room for {capacity} parallel paths through its hidden layers; "
            f"the hat needs {n_paths} (every hidden layer needs width >= {n_paths}{blocks})"
        )
    return None


class Router:
    """Builds weight vectors that route ``n_paths`` first-layer rows to the output."""

    def __init__(self, net: ReLUNetwork, n_paths: int) -> None:
        act = net.activation
        act.require_piecewise_linear("routing paths through a network")
        unfit = hat_fit(net, n_paths)
        if unfit is not None:
            raise ConfigurationError(unfit)
        self.net = net
        self.n_paths = n_paths
        self.input_dim = net.n_inputs + int(net.bias)
        self._index = self._paths()
        self.gain, self.slope = self._path_function()

    def _paths(self) -> _PathIndex:
        act = self.net.activation
        units = act.path_unit(np.arange(self.n_paths))
        hidden = [(act.row(units), units) for _ in self.net.layers[1:-1]]
        return _PathIndex(act.row(units), hidden, units)

    def _path_function(self) -> tuple[float, float]:
        """(gain, slope) with phi(s) = gain relu(s) + slope s: what a path does to the
        value s of its first-layer row, found by running the activation on s = ±1."""
        act = self.net.activation
        unit = int(act.path_unit(0))
        values = np.array([1.0, -1.0])
        for width in self.net.widths[1:-1]:
            z = np.zeros((2, width * act.pieces))
            z[:, int(act.row(unit))] = values
            values = act.apply(z)[:, unit]
        above, below = float(values[0]), -float(values[1])
        return above - below, below

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
        layout, index = self.net.layout, self._index
        n = self.net.n_inputs
        W[:, layout.row_indices(0, index.first_rows)] = rows[:, :, :n]
        if self.net.bias:
            W[:, layout.bias_indices(0, index.first_rows)] = rows[:, :, n]
        for k_layer, (out_rows, in_cols) in enumerate(index.hidden, start=1):
            W[:, layout.entry_indices(k_layer, out_rows, in_cols)] = 1.0
        last, outs = len(layout.layers) - 1, np.arange(self.net.n_outputs)[None, :]
        W[:, layout.entry_indices(last, outs, index.output_cols[:, None])] = outputs
        return W

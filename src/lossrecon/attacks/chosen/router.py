"""The gated network on the one layout: weight vectors from gate rows, units and outputs.

Exact gates need ReLU (relu of a negative number is exactly 0 in every format) and two
hidden layers: the first holds the gate rows and the readout's rows, the second the
gated units, each a weighing of first-layer rows with its own bias γ; deeper layers
pass each unit on with weight 1 (relu of a nonnegative number is itself), and the last
layer sends the units out along the attacker's output columns.
"""

from __future__ import annotations

import numpy as np

from lossrecon.errors import ConfigurationError
from lossrecon.network import ReLUNetwork

__all__ = ["GateRouter", "dead_weights", "gates_fit"]


def gates_fit(net: ReLUNetwork) -> str | None:
    """Why exact gates cannot drive ``net``, or None when they can."""
    if not net.activation.rectifies:
        return (
            f"exact gates need ReLU (relu of a negative number is exactly 0), not {net.activation}"
        )
    hidden = net.widths[1:-1]
    if len(hidden) < 2:
        return "exact gates need two hidden layers"
    # Two rows gate a window, two read a coordinate; without biases one more carries
    # the anchor u0·a that stands in for the constant.
    least = 4 if net.bias else 5
    if hidden[0] < least:
        return (
            f"exact gates need a first hidden layer of width >= {least}"
            f"{'' if net.bias else ' without biases'}, not {hidden[0]}"
        )
    return None


class GateRouter:
    """Weight vectors of the gated network: R first-layer rows with their biases, U
    units of layer 2 each weighing them (``mix``) with its own bias γ, each unit passed on
    through the deeper layers, the output columns ``out`` on them.

    Without biases (the paper's networks) every bias b of a first-layer row becomes b u0
    added to the row, and γ the weight of one more first-layer row, the anchor u0: the
    network then computes t · (the biased network at a / t), t = u0·a, for every sample
    with t > 0 (every unit is positively homogeneous)."""

    def __init__(self, net: ReLUNetwork, anchor: np.ndarray | None = None) -> None:
        reason = gates_fit(net)
        if reason is not None:
            raise ConfigurationError(reason)
        self.net = net
        self.anchor: np.ndarray | None = None
        if not net.bias:
            n = net.n_inputs
            self.anchor = np.ones(n) / np.sqrt(n) if anchor is None else np.asarray(anchor)
        # The anchor takes the first layer's last row.
        self.rows = net.widths[1] - (0 if net.bias else 1)
        # Units that reach the output side by side: the narrowest hidden layer past the first.
        self.units = min(net.widths[2:-1])

    def weights(
        self,
        rows: np.ndarray,
        biases: np.ndarray,
        mix: np.ndarray,
        gamma: np.ndarray,
        out: np.ndarray,
        sides: np.ndarray | None = None,
    ) -> np.ndarray:
        """rows (K, R, n), biases (K, R), mix (K, U, R), gamma (K, U), out (K, U, d) ->
        W (K, N); without biases, ``sides`` (K,) signs the anchor of each (default +1:
        the samples with u0·a > 0; −1 reads those with u0·a < 0)."""
        k, r, _ = rows.shape
        u = mix.shape[1]
        if r > self.rows:
            raise ConfigurationError(f"{r} first-layer rows asked for, the network has {self.rows}")
        if u > self.units:
            raise ConfigurationError(f"{u} gated units asked for, the network passes {self.units}")
        layout = self.net.layout
        W = np.zeros((k, layout.n_params))
        rows_at, units = np.arange(r), np.arange(u)
        if self.anchor is None:
            W[:, layout.row_indices(0, rows_at)] = rows
            W[:, layout.bias_indices(0, rows_at)] = biases
            W[:, layout.bias_indices(1, units)] = gamma
        else:
            anchor = self.anchor * (np.ones(k) if sides is None else sides)[:, None]
            W[:, layout.row_indices(0, rows_at)] = rows + biases[..., None] * anchor[:, None]
            W[:, layout.row_indices(0, self.rows)] = anchor
            W[:, layout.entry_indices(1, units, self.rows)] = gamma
        W[:, layout.row_indices(1, units)[:, :r]] = mix
        for index in range(2, len(layout.layers) - 1):
            W[:, layout.entry_indices(index, units, units)] = 1.0
        last, outs = len(layout.layers) - 1, np.arange(self.net.n_outputs)[None, :]
        W[:, layout.entry_indices(last, outs, units[:, None])] = out
        return W


def dead_weights(net: ReLUNetwork) -> np.ndarray:
    """A weight vector (N,) whose every weight and bias but the output layer's bias is
    ±1 and whose outputs are exactly 0 for every input: the first layer's units are
    >= 0, every later hidden layer weighs them by −1 with bias −1 (relu of a negative
    number is 0), so the output layer sees only zeros. The loss there is the loss at
    w = 0 plus what a regularizer adds for ||w|| > 0."""
    layout = net.layout
    w = np.zeros(layout.n_params)
    last = len(layout.layers) - 1
    for k, layer in enumerate(layout.layers):
        sign = 1.0 if k in (0, last) else -1.0
        w[layer.weight] = sign
        if layer.bias is not None and k < last:
            w[layer.bias] = sign
    return w

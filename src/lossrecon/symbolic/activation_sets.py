"""Activation sets (the paper's Def. 2.2), generalised to every piecewise-linear activation.

An activation set fixes, for every hidden node, which linear piece of its activation is
used. For ReLU and leaky ReLU the state of a node is 1 (active, output positive) or 0
(negative); for LWTA it is 1 for the winner of its block and 0 for the others; for
maxout it is the index of the winning piece. The set is formal: whether some input and
weight realise it is a separate question.

The paper writes activation sets as triples and lists the input nodes as active. Its
Figure 2 text defines (i, k) as node i of layer k, yet its listed sets only make sense
read as (layer, node, state); :meth:`ActivationSet.paper_notation` prints them that
way, so Figure 2 comes out as printed.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from lossrecon.activations import Activation, make_activation

__all__ = ["ActivationSet", "all_activation_sets", "from_patterns"]


@dataclass(frozen=True, order=True)
class ActivationSet:
    """States of the hidden nodes: ``states[l][j]`` for node j+1 of layer l+2 (1-based)."""

    states: tuple[tuple[int, ...], ...]

    def state(self, layer: int, node: int) -> int:
        """State of node ``node`` of layer ``layer``, both 1-based as in the paper."""
        return self.states[layer - 2][node - 1]

    def active_nodes(self, layer: int) -> list[int]:
        """1-based nodes of a hidden layer whose state is not 0 (ReLU, leaky, LWTA)."""
        return [j + 1 for j, s in enumerate(self.states[layer - 2]) if s]

    def paper_notation(self, n_inputs: int, activation: str | Activation = "relu") -> str:
        """The paper's set notation, e.g. ``{(1, 1, active), (1, 2, active), ...}``."""
        act = make_activation(activation)
        items = [f"(1, {j}, active)" for j in range(1, n_inputs + 1)]
        for layer_no, layer in enumerate(self.states, start=2):
            for j, s in enumerate(layer, start=1):
                items.append(f"({layer_no}, {j}, {act.state_label(s)})")
        return "{" + ", ".join(items) + "}"

    def __str__(self) -> str:
        return " | ".join("".join(str(s) for s in layer) for layer in self.states)


def all_activation_sets(
    widths: Sequence[int], up_to_layer: int | None = None, activation: str | Activation = "relu"
) -> Iterator[ActivationSet]:
    """Every formal activation set of the hidden layers before layer ``up_to_layer``.

    Layers are 1-based (layer 1 is the input); by default all hidden layers. The all-active
    set comes first.
    """
    act = make_activation(activation)
    last = len(widths) if up_to_layer is None else up_to_layer
    per_layer = [act.states(widths[layer_no - 1]) for layer_no in range(2, last)]
    for combo in itertools.product(*per_layer):
        yield ActivationSet(tuple(combo))


def from_patterns(patterns: Sequence[np.ndarray], sample: int) -> ActivationSet:
    """The activation set of one sample from ``ReLUNetwork.activation_patterns`` output."""
    return ActivationSet(tuple(tuple(int(s) for s in p[sample]) for p in patterns))

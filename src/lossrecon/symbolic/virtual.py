"""Virtual polynomials (Def. 2.3): node values of the deep linear network an activation
set induces, as polynomials in the weights (and inputs).

The virtual polynomial of type (i, k) under an activation set P is the value of node i
of layer k when the hidden nodes of layers 2..k-1 follow P and node (i, k) itself passes
its pre-activation linearly: the polynomial whose sign decides the node's state, so its
zero set is where the loss can bend (Thm 2.4). For the output layer this is the output.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

import sympy

from lossrecon.activations import Activation, make_activation
from lossrecon.errors import ConfigurationError
from lossrecon.symbolic.activation_sets import ActivationSet, all_activation_sets
from lossrecon.symbolic.symbols import input_symbols, layer_symbol_matrices

__all__ = [
    "boundary_polynomials",
    "gated",
    "layer_pre_activations",
    "virtual_polynomial",
    "virtual_polynomials",
]

Node = tuple[int, int]


def gated(z: sympy.Matrix, states: Sequence[int], activation: Activation) -> sympy.Matrix:
    """Outputs of a hidden layer whose pieces are fixed by ``states``."""
    return sympy.Matrix(activation.gate(list(z), tuple(states)))


def layer_pre_activations(
    widths: Sequence[int],
    activation_set: ActivationSet,
    layer: int,
    inputs: Sequence[sympy.Expr] | None = None,
    activation: str | Activation = "relu",
) -> sympy.Matrix:
    """Pre-activations of layer ``layer`` (1-based, >= 2) as expanded polynomials.

    Hidden layers before it follow ``activation_set``; ``inputs`` default to x1..xn
    (pass numbers for a concrete sample). A maxout hidden layer has width * k rows.
    """
    act = make_activation(activation)
    if not 2 <= layer <= len(widths):
        raise ConfigurationError(f"layer must be in 2..{len(widths)}, got {layer}")
    if len(activation_set.states) < layer - 2:
        raise ConfigurationError(
            f"activation set covers {len(activation_set.states)} hidden layers; "
            f"layer {layer} needs {layer - 2}"
        )
    matrices = layer_symbol_matrices(widths, act.pieces)
    x = sympy.Matrix(input_symbols(widths[0]) if inputs is None else list(inputs))
    for layer_no in range(2, layer):
        x = gated(matrices[layer_no - 2] * x, activation_set.states[layer_no - 2], act)
    return (matrices[layer - 2] * x).applyfunc(sympy.expand)


def _row(widths: Sequence[int], node: Node, act: Activation, piece: int) -> int:
    i, k = node
    if not 2 <= k <= len(widths) or not 1 <= i <= widths[k - 1]:
        raise ConfigurationError(f"no node {node} (node, layer) in a network of widths {widths}")
    if k == len(widths):
        return i - 1
    if not 0 <= piece < act.pieces:
        raise ConfigurationError(f"{act} piece must be in 0..{act.pieces - 1}, got {piece}")
    return int(act.row(i - 1, piece))


def virtual_polynomial(
    widths: Sequence[int],
    node: Node,
    activation_set: ActivationSet,
    inputs: Sequence[sympy.Expr] | None = None,
    activation: str | Activation = "relu",
    piece: int = 0,
) -> sympy.Expr:
    """The virtual polynomial of type ``node`` = (i, k) under an activation set.

    ``piece`` picks one of a maxout node's k pre-activations.
    """
    act = make_activation(activation)
    z = layer_pre_activations(widths, activation_set, node[1], inputs, act)
    return z[_row(widths, node, act, piece)]


def virtual_polynomials(
    widths: Sequence[int],
    node: Node,
    inputs: Sequence[sympy.Expr] | None = None,
    activation: str | Activation = "relu",
    piece: int = 0,
) -> dict[sympy.Expr, list[ActivationSet]]:
    """Every distinct virtual polynomial of type ``node`` with the activation sets giving it.

    Keys are in the order first met, starting from the all-active set.

    >>> polys = virtual_polynomials([2, 2, 1], node=(1, 3))
    >>> len(polys)
    4
    """
    act = make_activation(activation)
    found: dict[sympy.Expr, list[ActivationSet]] = defaultdict(list)
    for aset in all_activation_sets(widths, node[1], act):
        found[virtual_polynomial(widths, node, aset, inputs, act, piece)].append(aset)
    return dict(found)


def boundary_polynomials(
    widths: Sequence[int],
    node: Node,
    activation_set: ActivationSet,
    inputs: Sequence[sympy.Expr] | None = None,
    activation: str | Activation = "relu",
) -> list[sympy.Expr]:
    """Polynomials whose sign change flips hidden node ``node`` out of its state in P.

    ReLU and leaky ReLU: the node's virtual polynomial. Maxout: the differences between
    the winning piece and each other piece. LWTA: the differences between the block's
    winner and each other unit of the block. ``activation_set`` must cover layer k.
    """
    act = make_activation(activation)
    i, k = node
    if k >= len(widths):
        raise ConfigurationError(f"node {node} is not a hidden node of widths {widths}")
    z = layer_pre_activations(widths, activation_set, k, inputs, act)
    states = activation_set.states[k - 2]
    return [b.polynomial for b in act.boundaries(list(z), states, i - 1)]

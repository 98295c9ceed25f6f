"""A torch model's computation, read from its ``forward`` with ``torch.fx``.

The attacks need a model as a chain of steps — convolutions, pooling, normalisation,
activations, reshapes, linear layers — not as a list of modules: a ``forward`` may apply
``F.relu`` or one ``self.pool`` module twice, reshape with ``view`` and end in
``log_softmax``, none of which the module list shows. :func:`trace` runs
``torch.fx.symbolic_trace`` and turns the graph into a :class:`Traced` chain of
:class:`Step` s, refusing by node name what no attack reads: a residual addition (a node
with two tensor inputs), attention, control flow that depends on the data, a function or
module it does not know.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from lossrecon.activations import Activation, make_activation
from lossrecon.errors import ConfigurationError
from lossrecon.optional import require

__all__ = ["Step", "Traced", "trace"]

POOLS = ("max_pool2d", "avg_pool2d")

# Modules by class name: the step kind each one is.
_MODULES = {
    "Conv2d": "conv2d",
    "Linear": "linear",
    "BatchNorm1d": "batch_norm",
    "BatchNorm2d": "batch_norm",
    "MaxPool2d": "max_pool2d",
    "AvgPool2d": "avg_pool2d",
    "ReLU": "relu",
    "LeakyReLU": "leaky_relu",
    "Flatten": "flatten",
    "Dropout": "identity",  # the loss is evaluated in evaluation mode
    "Dropout2d": "identity",
    "Identity": "identity",
    "LogSoftmax": "log_softmax",
}

# Methods of a tensor that only reshape it, and methods that read its shape.
_RESHAPES = {"view", "reshape", "flatten", "contiguous"}
_SHAPE_READS = {"size", "dim"}
_METHOD_STEPS = {"relu": "relu", "log_softmax": "log_softmax"}


def _functions() -> dict[Callable[..., Any], str]:
    torch = require("torch", "torch")
    functional = torch.nn.functional
    return {
        functional.relu: "relu",
        torch.relu: "relu",
        functional.leaky_relu: "leaky_relu",
        functional.max_pool2d: "max_pool2d",
        functional.avg_pool2d: "avg_pool2d",
        functional.log_softmax: "log_softmax",
        torch.log_softmax: "log_softmax",
        functional.dropout: "identity",
        torch.flatten: "flatten",
        torch.reshape: "flatten",
    }


@dataclass(frozen=True)
class Step:
    """One step of the chain: ``kind`` (``conv2d``, ``linear``, ``batch_norm``,
    ``max_pool2d``, ``avg_pool2d``, ``relu``, ``leaky_relu``, ``flatten``,
    ``identity``, ``log_softmax``), the fx ``node`` it came from, the submodule it calls
    (None for a function), and ``module`` itself for the steps that hold parameters or
    pooling options."""

    kind: str
    node: str
    target: str | None = None
    module: Any = field(default=None, compare=False, repr=False)
    slope: float | None = None


@dataclass(frozen=True)
class Traced:
    """A model as a chain of steps, input to output."""

    steps: tuple[Step, ...]

    def describe(self) -> str:
        """The chain as its step kinds, ``conv2d -> relu -> max_pool2d -> ...``."""
        return " -> ".join(step.kind for step in self.steps if step.kind != "identity")

    @property
    def convolutional(self) -> bool:
        return any(step.kind == "conv2d" or step.kind in POOLS for step in self.steps)

    @property
    def log_softmax(self) -> bool:
        """Whether the output is ``log_softmax`` of the logits (with ``NLLLoss``: cross-entropy)."""
        return bool(self.steps) and self.steps[-1].kind == "log_softmax"

    def activation(self) -> Activation:
        """The one activation the chain uses: ReLU, or leaky ReLU with its slope."""
        slopes = {s.slope for s in self.steps if s.kind == "leaky_relu" and s.slope is not None}
        relus = any(s.kind == "relu" for s in self.steps)
        if len(slopes) > 1 or (slopes and relus):
            found = sorted(f"leaky ReLU {s}" for s in slopes) + (["ReLU"] if relus else [])
            raise ConfigurationError(
                f"the model uses several activations ({', '.join(found)}): the attacks model one"
            )
        return (
            make_activation("leaky_relu", slope=slopes.pop()) if slopes else make_activation("relu")
        )


def _leaky_slope(node: Any) -> float:
    if node.op == "call_module":
        return float(node.graph.owning_module.get_submodule(node.target).negative_slope)
    if len(node.args) > 1:
        return float(node.args[1])
    return float(node.kwargs.get("negative_slope", 0.01))


def _tensor_inputs(node: Any, shape_nodes: set[str]) -> list[Any]:
    fx = require("torch.fx", "torch")
    inputs: list[Any] = []
    fx.node.map_arg((node.args, node.kwargs), inputs.append)
    return [n for n in inputs if n.name not in shape_nodes]


def _module_kind(node: Any, gm: Any) -> str:
    module = gm.get_submodule(node.target)
    name = type(module).__name__
    if name in _MODULES:
        return _MODULES[name]
    if "Attention" in name or "Transformer" in name:
        raise ConfigurationError(f"attention ({name} at node {node.name!r}) is not read")
    raise ConfigurationError(
        f"layer {name} at {node.target!r} (node {node.name!r}) is not supported: the "
        f"attacks read {', '.join(sorted(_MODULES))}"
    )


def _method_kind(node: Any) -> str:
    if node.target in _RESHAPES:
        return "flatten"
    if node.target in _METHOD_STEPS:
        return _METHOD_STEPS[node.target]
    raise ConfigurationError(f"tensor method .{node.target}() at node {node.name!r} is not read")


def _function_kind(node: Any, functions: dict[Callable[..., Any], str]) -> str:
    if node.target in functions:
        return functions[node.target]
    name = getattr(node.target, "__name__", str(node.target))
    if node.target in (operator.add, operator.iadd, operator.mul, operator.sub):
        raise ConfigurationError(
            f"{name} of two tensors at node {node.name!r} (a residual or skip connection?) "
            "is not read: the attacks read one chain of layers"
        )
    if "attention" in name:
        raise ConfigurationError(f"attention ({name} at node {node.name!r}) is not read")
    raise ConfigurationError(
        f"function {name} at node {node.name!r} is not read: between layers the attacks "
        "read relu, leaky_relu, pooling, dropout, reshapes and a final log_softmax"
    )


def _kind(node: Any, gm: Any, functions: dict[Callable[..., Any], str]) -> str:
    """The step kind of one fx node, or a refusal naming it."""
    if node.op == "call_module":
        return _module_kind(node, gm)
    if node.op == "call_method":
        return _method_kind(node)
    if node.op == "call_function":
        return _function_kind(node, functions)
    raise ConfigurationError(f"node {node.name!r} ({node.op} {node.target}) is not read")


def _nodes(gm: Any) -> Iterator[Any]:
    """The graph's compute nodes, in order, with the shape reads (``x.size(0)`` and what
    is computed from it alone) left out."""
    shape_nodes: set[str] = set()
    for node in gm.graph.nodes:
        if node.op in ("placeholder", "output", "get_attr"):
            continue
        if node.op == "call_method" and node.target in _SHAPE_READS:
            shape_nodes.add(node.name)
            continue
        inputs = _tensor_inputs(node, set())
        if inputs and all(n.name in shape_nodes for n in inputs):
            shape_nodes.add(node.name)  # arithmetic on a shape: getitem, mul of sizes...
            continue
        yield node, shape_nodes


def trace(model: Any) -> Traced:
    """Read ``model.forward`` as a chain of steps (see the module doc); a
    :class:`ConfigurationError` naming the node for anything the attacks cannot read."""
    torch = require("torch", "torch")
    fx = require("torch.fx", "torch")
    if not isinstance(model, torch.nn.Module):
        raise ConfigurationError(f"the model must be a torch.nn.Module, got {type(model)}")
    try:
        gm = fx.symbolic_trace(model)
    except Exception as exc:  # fx raises TraceError, TypeError... on data-dependent code
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ConfigurationError(
            f"the model's forward cannot be read as one computation (control flow that "
            f"depends on the data?): torch.fx says {first}"
        ) from None
    placeholders = [n for n in gm.graph.nodes if n.op == "placeholder"]
    if len(placeholders) != 1:
        raise ConfigurationError(f"the model's forward takes {len(placeholders)} inputs, not one")
    functions = _functions()
    steps: list[Step] = []
    previous = placeholders[0].name
    for node, shape_nodes in _nodes(gm):
        kind = _kind(node, gm, functions)
        inputs = _tensor_inputs(node, shape_nodes)
        if [n.name for n in inputs] != [previous]:
            names = ", ".join(n.name for n in inputs) or "none"
            raise ConfigurationError(
                f"node {node.name!r} takes {names} where the chain has {previous!r}: the "
                "attacks read one chain of layers (no skip connections or branches)"
            )
        if kind == "log_softmax" and steps and steps[-1].kind == "log_softmax":
            raise ConfigurationError(f"log_softmax twice, at node {node.name!r}")
        module = gm.get_submodule(node.target) if node.op == "call_module" else None
        slope = _leaky_slope(node) if kind == "leaky_relu" else None
        target = str(node.target) if node.op == "call_module" else None
        steps.append(Step(kind, node.name, target, module, slope))
        previous = node.name
    outputs = [n for n in gm.graph.nodes if n.op == "output"]
    returned = _tensor_inputs(outputs[0], set())
    if [n.name for n in returned] != [previous]:
        raise ConfigurationError("the model's forward returns something other than its last layer")
    kinds = [s.kind for s in steps]
    if "log_softmax" in kinds[:-1]:
        raise ConfigurationError("log_softmax before the last layer is not read")
    return Traced(tuple(steps))

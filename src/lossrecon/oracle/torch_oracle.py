"""A loss oracle over a real PyTorch model: the attacker writes parameters, reads the loss.

The weight vector is ``torch.nn.utils.parameters_to_vector(model.parameters())``'s
order, which for a chain of ``nn.Linear`` layers is the package's one
:class:`~lossrecon.layout.Layout`: :func:`model_layout` reads it off the model and the
oracle splits weight vectors with it. A batch of K weight vectors is evaluated at once
with ``torch.func.functional_call`` under ``torch.func.vmap``, in chunks, on a copy of the
model in its own dtype (or the one asked for); the model passed in is never changed.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from typing import Any

import numpy as np

from lossrecon.activations import Activation
from lossrecon.data import training_arrays
from lossrecon.errors import ConfigurationError
from lossrecon.layout import Layout, forward
from lossrecon.model import trace
from lossrecon.optional import require
from lossrecon.oracle.protocol import DTYPES, DeclaredOracle, LossConvention

__all__ = [
    "LOSS_MODULES",
    "SUPPORTED_MODULES",
    "TorchLossOracle",
    "check_forward",
    "check_layers",
    "loss_kind",
    "loss_module",
    "model_layout",
]

# The PyTorch loss module of each loss kind (each with reduction "sum" or "mean").
LOSS_MODULES = {"squared": "MSELoss", "cross_entropy": "CrossEntropyLoss"}
# The loss module that is cross-entropy on a model whose forward ends in log_softmax.
LOG_PROBABILITY_LOSS = "NLLLoss"

SUPPORTED_MODULES = (
    "Linear",
    "ReLU",
    "LeakyReLU",
    "Sequential",
    "Identity",
    "Flatten",
    "Dropout",  # evaluated in evaluation mode: the identity
    "LogSoftmax",  # as the last layer, with nn.NLLLoss: cross-entropy
)


def check_layers(model: Any, extra_modules: Iterable[str] = ()) -> None:
    """Refuse, naming it, a layer outside ``SUPPORTED_MODULES`` (and ``extra_modules``).
    The model's own class, when it holds layers (a user's ``Net``), is their container,
    not a layer."""
    allowed = set(SUPPORTED_MODULES) | set(extra_modules)
    for name, module in model.named_modules():
        kind = type(module).__name__
        container = module is model and next(model.children(), None) is not None
        if kind not in allowed and not container:
            where = f" at {name!r}" if name else ""
            raise ConfigurationError(
                f"layer {kind}{where} is not supported: the attacks model networks of "
                f"{', '.join(SUPPORTED_MODULES)} (pass extra_modules to vouch for others)"
            )


def model_layout(model: Any) -> Layout:
    """The layout of a model whose parameters are a chain of ``nn.Linear`` layers.

    Widths come from the layers' features, in the order ``model.parameters()`` lists
    them; every layer has a bias or none does. Anything else is refused, naming why.
    """
    torch = require("torch", "torch")
    linears = [m for m in model.modules() if isinstance(m, torch.nn.Linear)]
    owned = {id(p) for m in linears for p in m.parameters()}
    if not linears or any(id(p) not in owned for p in model.parameters()):
        raise ConfigurationError("the model's parameters must all belong to nn.Linear layers")
    widths = [linears[0].in_features]
    for layer in linears:
        if layer.in_features != widths[-1]:
            raise ConfigurationError(
                f"nn.Linear layers do not chain: {widths[-1]} features feed a layer that "
                f"takes {layer.in_features}"
            )
        widths.append(layer.out_features)
    biases = {layer.bias is not None for layer in linears}
    if len(biases) > 1:
        raise ConfigurationError("every nn.Linear layer must have a bias, or none of them")
    layout = Layout(tuple(widths), bias=biases.pop())
    order = [p for m in linears for p in m.parameters()]
    if [id(p) for p in model.parameters()] != [id(p) for p in order]:
        raise ConfigurationError("the model lists its parameters out of layer order")
    return layout


def check_forward(
    model: Any, layout: Layout, activation: Activation, log_softmax: bool = False
) -> None:
    """Raise unless ``model`` computes the chain of its ``nn.Linear`` layers with
    ``activation`` between them (and ``log_softmax`` of the logits when it ends so),
    checked on random weights and inputs in float64: an activation applied in
    ``forward`` (``torch.tanh``, a softmax on the output) is invisible to the module
    list."""
    torch = require("torch", "torch")
    rng = np.random.default_rng(0)
    probe = copy.deepcopy(model).double().eval()
    w = rng.standard_normal(layout.n_params)
    x = rng.standard_normal((16, layout.widths[0]))
    torch.nn.utils.vector_to_parameters(torch.as_tensor(w), probe.parameters())
    with torch.no_grad():
        try:
            out = probe(torch.as_tensor(x)).numpy()
        except Exception as exc:
            raise ConfigurationError(
                f"the model does not take inputs of shape (M, {layout.widths[0]}): {exc}"
            ) from None
    expected = forward(layout, activation, w[None], x)[0]
    if log_softmax:
        expected = expected - np.logaddexp.reduce(expected, axis=-1, keepdims=True)
    if out.shape != expected.shape or not np.allclose(out, expected, rtol=1e-9, atol=1e-9):
        raise ConfigurationError(
            f"the model's forward pass is not the {activation} chain of its nn.Linear "
            "layers (an activation applied in forward, a softmax output, a skip connection "
            f"or a normalisation?): the attacks read networks of {', '.join(SUPPORTED_MODULES)}"
        )


class TorchLossOracle(DeclaredOracle):
    """E(w) of ``model`` on (inputs, targets) for a (K, N) batch of parameter vectors.

    Parameters
    ----------
    model:
        an ``nn.Module`` built from ``nn.Linear`` layers and supported activations
        (``SUPPORTED_MODULES``, plus any module class named in ``extra_modules``); other
        layers (convolutions, batch norm...) are refused with their name.
    inputs, targets:
        (M, n) and (M, d_out) arrays or tensors.
    loss_fn:
        None for the paper's sum_i 1/2 ||b_i - F(a_i)||^2, ``nn.MSELoss`` with
        reduction "sum" or "mean", or ``nn.CrossEntropyLoss`` (reduction "sum" or
        "mean"; targets are class indices, shape (M,)), or ``nn.NLLLoss`` on a model
        whose forward ends in ``log_softmax`` (cross-entropy too). The oracle's ``loss`` attribute
        says which kind ("squared" or "cross_entropy"); the loss is computed as the
        module computes it (its own reduction and accumulation).
    dtype:
        the arithmetic the loss is evaluated in: by default the model's own (a PyTorch
        model is float32 unless made otherwise), or "float64", "float32", "float16",
        "bfloat16"; a copy of the model is cast, the model passed in is left as it is.
    chunk:
        weight vectors evaluated per vmap call.
    """

    def __init__(
        self,
        model: object,
        inputs: object,
        targets: object,
        loss_fn: object | None = None,
        dtype: str | None = None,
        chunk: int = 256,
        extra_modules: Iterable[str] = (),
    ) -> None:
        torch = require("torch", "torch")
        if not isinstance(model, torch.nn.Module):
            raise ConfigurationError(f"model must be a torch.nn.Module, got {type(model).__name__}")
        check_layers(model, extra_modules)
        log_probabilities = isinstance(loss_fn, getattr(torch.nn, LOG_PROBABILITY_LOSS))
        if not extra_modules:
            traced = trace(model)
            check_forward(model, model_layout(model), traced.activation(), traced.log_softmax)
            if log_probabilities and not traced.log_softmax:
                raise ConfigurationError(
                    f"nn.{LOG_PROBABILITY_LOSS} takes log-probabilities, and the model's forward "
                    "returns logits: pair it with a model ending in log_softmax, or use "
                    f"nn.{LOSS_MODULES['cross_entropy']}"
                )
            if traced.log_softmax and loss_kind(loss_fn)[0] != "cross_entropy":
                raise ConfigurationError(
                    "the model's forward ends in log_softmax: its loss is "
                    f"nn.{LOG_PROBABILITY_LOSS} (or nn.{LOSS_MODULES['cross_entropy']}), "
                    f"not {loss_fn!r}"
                )
        if dtype is None:
            first = next(iter(model.parameters()), None)
            dtype = "float32" if first is None else str(first.dtype).removeprefix("torch.")
        if dtype not in DTYPES:
            raise ConfigurationError(f"dtype must be one of {DTYPES}, got {dtype!r}")
        self._dtype = getattr(torch, dtype)
        loss, reduction = loss_kind(loss_fn)
        x, y = training_arrays(inputs, targets)
        self._convention = LossConvention(loss, reduction, dtype, len(x))  # type: ignore[arg-type]
        self.layout = model_layout(model)
        if self.loss == "cross_entropy" and (
            y.shape[1] != 1 or np.any(y != np.round(y)) or y.min() < 0
        ):
            raise ConfigurationError(
                f"cross-entropy targets must be class indices of shape (M,), got shape {y.shape}"
            )
        self.model = copy.deepcopy(model).to(self._dtype).eval()
        self.names = [name for name, _ in self.model.named_parameters()]
        self.n_params = self.layout.n_params
        self.inputs = torch.as_tensor(x, dtype=self._dtype)
        self.targets = (
            torch.as_tensor(y[:, 0], dtype=torch.long)
            if self.loss == "cross_entropy"
            else torch.as_tensor(y, dtype=self._dtype)
        )
        self.chunk = int(chunk)
        self._log_probabilities = log_probabilities
        self._batched = torch.func.vmap(self._loss)

    def _loss(self, w: object) -> object:
        torch = require("torch", "torch")
        params = dict(zip(self.names, self.layout.arrays(w), strict=True))
        output = torch.func.functional_call(self.model, params, (self.inputs,))
        if self.loss == "cross_entropy":
            functional = torch.nn.functional
            loss = functional.nll_loss if self._log_probabilities else functional.cross_entropy
            return loss(output, self.targets, reduction=self.reduction)
        if self.reduction == "half_sum":
            return 0.5 * ((output - self.targets) ** 2).sum()
        # nn.MSELoss's own reduction (half-precision models accumulate it in float32).
        return torch.nn.functional.mse_loss(output, self.targets, reduction=self.reduction)

    def __call__(self, W: np.ndarray) -> np.ndarray:
        """Losses for W of shape (K, N): an array of shape (K,), float64."""
        torch = require("torch", "torch")
        W = np.atleast_2d(np.asarray(W, dtype=np.float64))
        answers = []
        with torch.no_grad():
            for start in range(0, len(W), self.chunk):
                block = torch.as_tensor(W[start : start + self.chunk], dtype=self._dtype)
                answers.append(self._batched(block).to(torch.float64).numpy())
        return np.concatenate(answers) if answers else np.zeros(0)


def loss_kind(loss_fn: object | None) -> tuple[str, str]:
    """The loss kind and reduction of a PyTorch loss module (None: the paper's half sum
    of squares)."""
    if loss_fn is None:
        return "squared", "half_sum"
    torch = require("torch", "torch")
    reduction = getattr(loss_fn, "reduction", None)
    modules = [*LOSS_MODULES.items(), ("cross_entropy", LOG_PROBABILITY_LOSS)]
    for kind, name in modules:
        if isinstance(loss_fn, getattr(torch.nn, name)) and reduction in ("sum", "mean"):
            return kind, reduction
    names = ", ".join(f"nn.{name}" for _, name in modules)
    raise ConfigurationError(
        f"loss_fn must be None (the paper's half sum of squares), or one of {names} with "
        f"reduction 'sum' or 'mean', got {loss_fn!r}"
    )


def loss_module(kind: str, reduction: str) -> Any:
    """The PyTorch loss module that computes a loss kind with a reduction."""
    torch = require("torch", "torch")
    if kind not in LOSS_MODULES:
        raise ConfigurationError(f"unknown loss {kind!r}; choose one of {list(LOSS_MODULES)}")
    return getattr(torch.nn, LOSS_MODULES[kind])(reduction=reduction)

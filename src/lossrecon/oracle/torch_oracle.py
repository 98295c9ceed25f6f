"""A loss oracle over a real PyTorch model: the attacker writes parameters, reads the loss.

The weight vector is ``torch.nn.utils.parameters_to_vector(model.parameters())``'s
order. A batch of K weight vectors is evaluated at once with ``torch.func.functional_call``
under ``torch.func.vmap``, in chunks, in float64 or float32.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from lossrecon.data import training_arrays
from lossrecon.errors import ConfigurationError
from lossrecon.optional import require
from lossrecon.oracle.protocol import reduction_scale

__all__ = ["SUPPORTED_MODULES", "TorchLossOracle"]

SUPPORTED_MODULES = ("Linear", "ReLU", "LeakyReLU", "Sequential", "Identity", "Flatten")


class TorchLossOracle:
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
        "mean"; targets are class indices, shape (M,)). The oracle's ``loss`` attribute
        says which kind ("squared" or "cross_entropy"): the attacks need a squared loss
        and refuse the other (docs/targets.md says what cross-entropy still leaks).
    dtype:
        "float64" (default) or "float32".
    chunk:
        weight vectors evaluated per vmap call.
    """

    def __init__(
        self,
        model: object,
        inputs: object,
        targets: object,
        loss_fn: object | None = None,
        dtype: str = "float64",
        chunk: int = 256,
        extra_modules: Iterable[str] = (),
    ) -> None:
        torch = require("torch", "torch")
        if not isinstance(model, torch.nn.Module):
            raise ConfigurationError(f"model must be a torch.nn.Module, got {type(model).__name__}")
        allowed = set(SUPPORTED_MODULES) | set(extra_modules)
        for name, module in model.named_modules():
            kind = type(module).__name__
            if kind not in allowed:
                where = f" at {name!r}" if name else ""
                raise ConfigurationError(
                    f"layer {kind}{where} is not supported: the attacks model networks of "
                    f"{', '.join(SUPPORTED_MODULES)} (pass extra_modules to vouch for others)"
                )
        if dtype not in ("float64", "float32"):
            raise ConfigurationError(f"dtype must be 'float64' or 'float32', got {dtype!r}")
        self.dtype = getattr(torch, dtype)
        self.loss, self.reduction = self._convention(torch, loss_fn)
        x, y = training_arrays(inputs, targets)
        if self.loss == "cross_entropy":
            if y.shape[1] != 1 or np.any(y != np.round(y)) or y.min() < 0:
                raise ConfigurationError(
                    "cross-entropy targets must be class indices of shape (M,), "
                    f"got shape {y.shape}"
                )
            self._scale = 1.0
        else:
            self._scale = reduction_scale(self.reduction, len(x), y.shape[1])
        self.model = model.to(self.dtype).eval()
        self.names = [name for name, _ in model.named_parameters()]
        self.shapes = [p.shape for _, p in model.named_parameters()]
        self.n_params = int(sum(p.numel() for p in model.parameters()))
        self.inputs = torch.as_tensor(x, dtype=self.dtype)
        self.targets = (
            torch.as_tensor(y[:, 0], dtype=torch.long)
            if self.loss == "cross_entropy"
            else torch.as_tensor(y, dtype=self.dtype)
        )
        self.chunk = int(chunk)
        self._batched = torch.func.vmap(self._loss)

    @staticmethod
    def _convention(torch: object, loss_fn: object | None) -> tuple[str, str]:
        """The loss kind and its reduction."""
        if loss_fn is None:
            return "squared", "half_sum"
        reduction = getattr(loss_fn, "reduction", None)
        if isinstance(loss_fn, torch.nn.MSELoss) and reduction in ("sum", "mean"):
            return "squared", reduction
        if isinstance(loss_fn, torch.nn.CrossEntropyLoss) and reduction in ("sum", "mean"):
            return "cross_entropy", reduction
        raise ConfigurationError(
            "loss_fn must be None (the paper's half sum of squares), nn.MSELoss or "
            f"nn.CrossEntropyLoss with reduction 'sum' or 'mean', got {loss_fn!r}"
        )

    def _loss(self, w: object) -> object:
        torch = require("torch", "torch")
        params = {}
        start = 0
        for name, shape in zip(self.names, self.shapes, strict=True):
            size = int(np.prod(shape))
            params[name] = w[start : start + size].reshape(shape)
            start += size
        output = torch.func.functional_call(self.model, params, (self.inputs,))
        if self.loss == "cross_entropy":
            return torch.nn.functional.cross_entropy(output, self.targets, reduction=self.reduction)
        return self._scale * ((output - self.targets) ** 2).sum()

    def __call__(self, W: np.ndarray) -> np.ndarray:
        """Losses for W of shape (K, N): an array of shape (K,), float64."""
        torch = require("torch", "torch")
        W = np.atleast_2d(np.asarray(W, dtype=np.float64))
        answers = []
        with torch.no_grad():
            for start in range(0, len(W), self.chunk):
                block = torch.as_tensor(W[start : start + self.chunk], dtype=self.dtype)
                answers.append(self._batched(block).to(torch.float64).numpy())
        return np.concatenate(answers) if answers else np.zeros(0)

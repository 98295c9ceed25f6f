"""The model under audit: loaded by reference, checked, and described to the attacks.

A server that audits its own clients knows their model, as a real one does: the audit
is given a reference to the model's class or factory (``package.module:Net`` or
``path/to/file.py:make_model``), builds one, and reads off it everything the attacks
need — the :class:`~lossrecon.layout.Layout` (widths, biases), the state_dict keys the
clients load parameters under, the dtype the clients compute in, and whether the
inputs are images (an ``nn.Flatten`` in front of a square number of features).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lossrecon.activations import Activation
from lossrecon.errors import ConfigurationError
from lossrecon.layout import Layout
from lossrecon.loading import load_object
from lossrecon.model import trace
from lossrecon.optional import require
from lossrecon.oracle.torch_oracle import check_forward, check_layers, model_layout

__all__ = ["ModelSpec", "load_model"]


def load_model(reference: str, search_path: Path | None = None) -> Any:
    """Build the model ``reference`` names (see :func:`lossrecon.loading.load_object`):
    a class or a factory taking no arguments."""
    return load_object(reference, search_path)()


@dataclass(frozen=True)
class ModelSpec:
    """What the attacks need to know of the audited model (see the module doc)."""

    model: Any
    layout: Layout
    keys: tuple[str, ...]
    dtype: str
    image_shape: tuple[int, int] | None
    activation: Activation

    @property
    def widths(self) -> list[int]:
        return list(self.layout.widths)

    @property
    def bias(self) -> bool:
        return self.layout.bias

    @classmethod
    def of(cls, model: Any) -> ModelSpec:
        """Check ``model`` is a network the attacks can drive and describe it.

        Refused, naming why: a layer outside ``SUPPORTED_MODULES`` (:func:`check_layers`),
        parameters outside a chain of ``nn.Linear`` layers, and a forward pass that is
        not the ReLU chain of those layers (checked on random weights and inputs: an
        activation applied in ``forward`` — ``torch.tanh`` say — is invisible to the
        module list).
        """
        torch = require("torch", "torch")
        if not isinstance(model, torch.nn.Module):
            raise ConfigurationError(f"the model must be a torch.nn.Module, got {type(model)}")
        check_layers(model)
        layout = model_layout(model)
        keys = tuple(model.state_dict())
        if len(keys) != len(list(model.parameters())):
            raise ConfigurationError(
                "the model's state_dict holds buffers beside its parameters: "
                f"{sorted(set(keys) - {n for n, _ in model.named_parameters()})}"
            )
        dtype = str(next(model.parameters()).dtype).removeprefix("torch.")
        traced = trace(model)
        activation = traced.activation()
        check_forward(model, layout, activation, traced.log_softmax)
        n = layout.widths[0]
        side = math.isqrt(n)
        flattens = any(type(m).__name__ == "Flatten" for m in model.modules())
        image = (side, side) if flattens and side * side == n else None
        return cls(model, layout, keys, dtype, image, activation)

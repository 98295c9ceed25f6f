"""Independent PyTorch references for the networks (used only by tests)."""

from __future__ import annotations

import torch
from torch import nn


class TorchMaxout(nn.Module):
    def __init__(self, k: int) -> None:
        super().__init__()
        self.k = k

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return z.view(*z.shape[:-1], -1, self.k).max(dim=-1).values


class TorchLWTA(nn.Module):
    def __init__(self, k: int) -> None:
        super().__init__()
        self.k = k

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        blocks = z.view(*z.shape[:-1], -1, self.k)
        mask = nn.functional.one_hot(blocks.argmax(dim=-1), self.k).to(z.dtype)
        return (blocks * mask).view(z.shape)


def torch_activation(name: str, **params: float) -> nn.Module:
    if name == "relu":
        return nn.ReLU()
    if name == "leaky_relu":
        return nn.LeakyReLU(params["slope"])
    if name == "maxout":
        return TorchMaxout(int(params["k"]))
    if name == "lwta":
        return TorchLWTA(int(params["k"]))
    raise ValueError(name)


def torch_sequential(
    widths: list[int], name: str, bias: bool, pieces: int = 1, **params: float
) -> nn.Sequential:
    """nn.Sequential of nn.Linear + activation, built without lossrecon's layout code."""
    modules: list[nn.Module] = []
    for k in range(len(widths) - 1):
        last = k == len(widths) - 2
        out = widths[k + 1] * (1 if last else pieces)
        modules.append(nn.Linear(widths[k], out, bias=bias, dtype=torch.float64))
        if not last:
            modules.append(torch_activation(name, **params))
    return nn.Sequential(*modules)

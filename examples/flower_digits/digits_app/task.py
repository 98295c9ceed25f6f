"""The client's side, written as Flower's quickstart writes it: a PyTorch model
(64-32-16-10, bias-free, float64), private digits, and a NumPyClient whose ``evaluate``
loads the parameters it is sent and reports its MSE loss and ``len(data)``."""

import itertools
from collections import OrderedDict

import numpy as np
import torch
from flwr.client import NumPyClient

import lossrecon as lr

WIDTHS = [64, 32, 16, 10]


def private_data(partition: int, samples: int) -> lr.Dataset:
    """Partition ``partition`` of scikit-learn's digits, ``samples`` of them."""
    digits = lr.load_dataset("digits")
    part = slice(partition * samples, (partition + 1) * samples)
    return lr.Dataset("digits", digits.inputs[part], digits.targets[part])


class DigitsClient(NumPyClient):
    def __init__(self, x: np.ndarray, y: np.ndarray) -> None:
        layers = []
        for d_in, d_out in itertools.pairwise(WIDTHS):
            layers += [torch.nn.Linear(d_in, d_out, bias=False), torch.nn.ReLU()]
        self.net = torch.nn.Sequential(*layers[:-1]).double()
        self.x, self.y = torch.tensor(x), torch.tensor(y)

    def get_parameters(self, config):
        return [v.numpy() for v in self.net.state_dict().values()]

    def evaluate(self, parameters, config):
        keys = self.net.state_dict().keys()
        state = OrderedDict((k, torch.tensor(v)) for k, v in zip(keys, parameters, strict=True))
        self.net.load_state_dict(state, strict=True)
        with torch.no_grad():
            loss = torch.nn.functional.mse_loss(self.net(self.x), self.y)
        return float(loss), len(self.x), {}

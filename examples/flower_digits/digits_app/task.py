"""The client's side, written as Flower's PyTorch quickstart writes it: a float32 model
(64-32-16-10 with biases, PyTorch's defaults), private digits scaled to [0, 1] with
their class indices, and a NumPyClient whose ``evaluate`` loads the parameters it is
sent and reports ``float(loss)`` of ``nn.CrossEntropyLoss`` and ``len(data)``."""

from collections import OrderedDict

import numpy as np
import torch
from flwr.client import NumPyClient

import lossrecon as lr

WIDTHS = [64, 32, 16, 10]


def private_data(partition: int, samples: int) -> lr.Dataset:
    """Partition ``partition`` of scikit-learn's digits, ``samples`` of them, pixels
    scaled to [0, 1] and one-hot labels (the client trains on their class indices)."""
    digits = lr.load_dataset("digits")
    part = slice(partition * samples, (partition + 1) * samples)
    return lr.Dataset("digits", digits.inputs[part] / 16.0, digits.targets[part])


class Net(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc1 = torch.nn.Linear(WIDTHS[0], WIDTHS[1])
        self.fc2 = torch.nn.Linear(WIDTHS[1], WIDTHS[2])
        self.fc3 = torch.nn.Linear(WIDTHS[2], WIDTHS[3])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc3(torch.relu(self.fc2(torch.relu(self.fc1(x)))))


class DigitsClient(NumPyClient):
    def __init__(self, x: np.ndarray, y: np.ndarray) -> None:
        self.net = Net()
        self.x = torch.tensor(x, dtype=torch.float32)
        self.y = torch.tensor(y.argmax(1))
        self.criterion = torch.nn.CrossEntropyLoss()

    def get_parameters(self, config):
        return [v.numpy() for v in self.net.state_dict().values()]

    def evaluate(self, parameters, config):
        keys = self.net.state_dict().keys()
        state = OrderedDict((k, torch.tensor(v)) for k, v in zip(keys, parameters, strict=True))
        self.net.load_state_dict(state, strict=True)
        self.net.eval()
        with torch.no_grad():
            loss = self.criterion(self.net(self.x), self.y)
        return float(loss), len(self.x), {}

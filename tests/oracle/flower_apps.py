"""Flower clients written as the quickstart writes one — a regression client (float64,
bias-free, MSE: the paper's setting) and a classifier (float32 with biases,
``CrossEntropyLoss``, ``evaluate`` returning ``float(loss)``: what PyTorch users run) —
and the pieces a test needs to run them (real NumPyClient, real ClientApp)."""

from collections import OrderedDict

import numpy as np
import torch
from flwr.client import ClientApp, NumPyClient
from flwr.common import Context

import lossrecon as lr

WIDTHS = [16, 6, 4, 1]
CLASSIFIER = [64, 32, 16, 10]
DIGITS = 12  # digits a classifier client holds


def private_data(partition: int) -> tuple[np.ndarray, np.ndarray]:
    data = lr.synthetic(20, WIDTHS[0], WIDTHS[-1], random_state=100 + partition)
    return data.inputs, data.targets


class Net(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.layers = torch.nn.Sequential(
            torch.nn.Linear(16, 6, bias=False),
            torch.nn.ReLU(),
            torch.nn.Linear(6, 4, bias=False),
            torch.nn.ReLU(),
            torch.nn.Linear(4, 1, bias=False),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x)


class FlowerClient(NumPyClient):
    def __init__(self, net: torch.nn.Module, x: np.ndarray, y: np.ndarray) -> None:
        self.net, self.x, self.y = net, torch.tensor(x), torch.tensor(y)

    def get_parameters(self, config):
        return [v.cpu().numpy() for v in self.net.state_dict().values()]

    def set_parameters(self, parameters) -> None:
        keys = self.net.state_dict().keys()
        state = OrderedDict((k, torch.tensor(v)) for k, v in zip(keys, parameters, strict=True))
        self.net.load_state_dict(state, strict=True)

    def fit(self, parameters, config):
        self.set_parameters(parameters)
        optimizer = torch.optim.SGD(self.net.parameters(), lr=0.01)
        optimizer.zero_grad()
        torch.nn.functional.mse_loss(self.net(self.x), self.y).backward()
        optimizer.step()
        return self.get_parameters({}), len(self.x), {}

    def evaluate(self, parameters, config):
        self.set_parameters(parameters)
        with torch.no_grad():
            loss = torch.nn.functional.mse_loss(self.net(self.x), self.y)
        return float(loss), len(self.x), {}


def private_digits(partition: int) -> tuple[np.ndarray, np.ndarray]:
    """Digits scaled to [0, 1] as the client holds them, and their one-hot labels."""
    data = lr.load_dataset("digits")
    part = slice(partition * DIGITS, (partition + 1) * DIGITS)
    return data.inputs[part] / 16.0, data.targets[part]


class Classifier(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc1 = torch.nn.Linear(64, 32)
        self.fc2 = torch.nn.Linear(32, 16)
        self.fc3 = torch.nn.Linear(16, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc3(torch.relu(self.fc2(torch.relu(self.fc1(x)))))


class DigitsClient(FlowerClient):
    """The quickstart's client: float32 model, class-index targets, cross-entropy."""

    def __init__(self, x: np.ndarray, y: np.ndarray) -> None:
        self.net = Classifier()
        self.x = torch.tensor(x, dtype=torch.float32)
        self.y = torch.tensor(y.argmax(1))
        self.criterion = torch.nn.CrossEntropyLoss()

    def evaluate(self, parameters, config):
        self.set_parameters(parameters)
        self.net.eval()
        with torch.no_grad():
            loss = self.criterion(self.net(self.x), self.y)
        return float(loss), len(self.x), {}


def digits_client_fn(context: Context):
    return DigitsClient(*private_digits(int(context.node_config["partition-id"]))).to_client()


digits_client_app = ClientApp(client_fn=digits_client_fn)

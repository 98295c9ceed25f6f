"""A Flower client written as the quickstart writes one, holding private regression data,
and the pieces a test needs to run it (real NumPyClient, real ClientApp)."""

from collections import OrderedDict

import numpy as np
import torch
from flwr.client import ClientApp, NumPyClient
from flwr.common import Context

import lossrecon as lr

WIDTHS = [16, 6, 4, 1]


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


def client_fn(context: Context):
    x, y = private_data(int(context.node_config["partition-id"]))
    return FlowerClient(Net().double(), x, y).to_client()


client_app = ClientApp(client_fn=client_fn)

"""A malicious Flower server against an honest client holding 200 scikit-learn digits.

The client is a NumPyClient as Flower's quickstart writes one: a PyTorch model
(64-32-16-10, bias-free, float64), private data, ``evaluate`` loads the parameters it is
sent and reports its MSE loss and ``len(data)``. The server is a ServerApp whose main
function runs the chosen-weights attack through evaluate rounds
(``lossrecon.oracle.flower.attack_clients``). Runs in Flower's simulation engine (Ray)
and prints rounds, wall time and recall; ``--clients 3`` attacks three clients (200
digits each) in the same rounds.

    python examples/flower_digits.py [--clients 1] [--samples 200]
"""

import argparse
import itertools
import json
import time
import warnings
from collections import OrderedDict

import numpy as np
import torch
from flwr.client import ClientApp, NumPyClient
from flwr.common import Context
from flwr.server import ServerApp
from flwr.simulation import run_simulation

import lossrecon as lr
from lossrecon.oracle.flower import attack_clients

WIDTHS = [64, 32, 16, 10]


def private_data(partition: int, samples: int) -> lr.Dataset:
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=1)
    parser.add_argument("--samples", type=int, default=200)
    args = parser.parse_args()

    def client_fn(context: Context):
        data = private_data(int(context.node_config["partition-id"]), args.samples)
        return DigitsClient(data.inputs, data.targets).to_client()

    def attack(oracle):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return lr.attacks.chosen_weights(oracle, WIDTHS, n_samples=oracle.num_examples)

    server_app, found = ServerApp(), {}

    @server_app.main()
    def server(grid, context):
        start = time.perf_counter()
        found["results"], found["rounds"] = attack_clients(
            grid, WIDTHS, attack, min_clients=args.clients
        )
        found["seconds"] = time.perf_counter() - start

    run_simulation(
        server_app=server_app,
        client_app=ClientApp(client_fn=client_fn),
        num_supernodes=args.clients,
        backend_config={"client_resources": {"num_cpus": 1}},
    )
    recalls = []
    for rec in found["results"].values():
        if not isinstance(rec, lr.Reconstruction):
            recalls.append(f"attack failed: {rec}")
            continue
        best = max(
            lr.evaluate(rec, d.inputs, d.targets)["recall"]
            for d in (private_data(p, args.samples) for p in range(args.clients))
        )
        recalls.append(best)
    report = {
        "clients": args.clients,
        "samples_per_client": args.samples,
        "rounds": found["rounds"],
        "seconds": found["seconds"],
        "seconds_per_round": found["seconds"] / found["rounds"],
        "recall_per_client": recalls,
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()

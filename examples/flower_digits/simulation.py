"""Run the digits Flower App in Flower's simulation engine (Ray backend) and print the
report: rounds, wall time and recall per client.

    python examples/flower_digits/simulation.py [--clients 1] [--samples 200]
        [--queries-per-round 1]

``--clients 3`` attacks three clients (``--samples`` digits each) in the same rounds.
"""

import argparse
import json
import sys
from pathlib import Path

from flwr.client import ClientApp
from flwr.common import Context
from flwr.server import ServerApp
from flwr.simulation import run_simulation

sys.path.insert(0, str(Path(__file__).parent))

from digits_app.server_app import run_attack
from digits_app.task import DigitsClient, private_data


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=1)
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--queries-per-round", type=int, default=1)
    args = parser.parse_args()

    def client_fn(context: Context):
        data = private_data(int(context.node_config["partition-id"]), args.samples)
        return DigitsClient(data.inputs, data.targets).to_client()

    server_app, report = ServerApp(), {}

    @server_app.main()
    def server(grid, context):
        report.update(run_attack(grid, args.clients, args.samples, args.queries_per_round))

    run_simulation(
        server_app=server_app,
        client_app=ClientApp(client_fn=client_fn),
        num_supernodes=args.clients,
        backend_config={"client_resources": {"num_cpus": 1}},
    )
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()

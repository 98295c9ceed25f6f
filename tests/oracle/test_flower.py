import warnings

import numpy as np
import pytest

pytest.importorskip("flwr")

from types import SimpleNamespace

from flwr.common import parameters_to_ndarrays
from flwr.compat.common import recorddict_compat as compat
from flwr.server import ServerApp
from flwr.simulation import run_simulation

import lossrecon as lr
from lossrecon.errors import OracleError
from lossrecon.oracle.flower import attack_clients

from .flower_apps import WIDTHS, FlowerClient, Net, client_app, private_data


def chosen(oracle):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return lr.attacks.chosen_weights(oracle, WIDTHS, n_samples=oracle.num_examples)


class FakeGrid:
    """Delivers evaluate messages to in-process NumPyClients; ``away(node, round)``
    says when a client misses a round."""

    def __init__(self, clients, away=lambda node, round_: False):
        self.clients, self.away, self.round = clients, away, 0

    def get_node_ids(self):
        return list(self.clients)

    def create_message(self, content, message_type, dst_node_id, group_id, ttl=None):
        return SimpleNamespace(content=content, metadata=SimpleNamespace(dst_node_id=dst_node_id))

    def send_and_receive(self, messages, *, timeout=None):
        self.round += 1
        replies = []
        for message in messages:
            node = message.metadata.dst_node_id
            if self.away(node, self.round):
                continue
            ins = compat.recorddict_to_evaluateins(message.content, keep_input=True)
            loss, count, metrics = self.clients[node].evaluate(
                parameters_to_ndarrays(ins.parameters), ins.config
            )
            res = compat.EvaluateRes(compat.Status(compat.Code.OK, ""), loss, count, metrics)
            replies.append(
                SimpleNamespace(
                    content=compat.evaluateres_to_recorddict(res),
                    metadata=SimpleNamespace(src_node_id=node),
                    has_error=lambda: False,
                )
            )
        return replies


def clients():
    return {7 + p: FlowerClient(Net().double(), *private_data(p)) for p in range(2)}


def recall(rec, partition):
    return lr.evaluate(rec, *private_data(partition))["recall"]


def test_two_clients_attacked_in_the_same_rounds():
    results, rounds = attack_clients(FakeGrid(clients()), WIDTHS, chosen)
    assert recall(results[7], 0) == 1.0 and recall(results[8], 1) == 1.0
    assert rounds == 1 + max(rec.queries for rec in results.values())


def test_a_client_that_drops_out_for_a_while_loses_nothing():
    steady, _ = attack_clients(FakeGrid(clients()), WIDTHS, chosen)
    grid = FakeGrid(clients(), away=lambda node, r: node == 8 and 100 <= r < 110)
    results, rounds = attack_clients(grid, WIDTHS, chosen)
    assert np.array_equal(results[8].inputs, steady[8].inputs)
    assert rounds >= 1 + steady[8].queries + 10


def test_a_client_gone_for_good_fails_alone():
    grid = FakeGrid(clients(), away=lambda node, r: node == 8 and r >= 50)
    results, _ = attack_clients(grid, WIDTHS, chosen, patience=5)
    assert isinstance(results[8], OracleError)
    assert recall(results[7], 0) == 1.0


@pytest.mark.slow
def test_end_to_end_in_flowers_simulation_engine():
    """A real ServerApp and ClientApp in the simulation engine (Ray backend): the server
    only sends parameters and reads the loss each client reports."""
    server_app = ServerApp()
    found = {}

    @server_app.main()
    def main(grid, context):
        found["results"], found["rounds"] = attack_clients(grid, WIDTHS, chosen, min_clients=1)

    run_simulation(
        server_app=server_app,
        client_app=client_app,
        num_supernodes=1,
        backend_config={"client_resources": {"num_cpus": 1}},
    )
    (rec,) = found["results"].values()
    assert isinstance(rec, lr.Reconstruction)
    assert recall(rec, 0) >= 0.999
    assert found["rounds"] == rec.queries + 1

"""The honest ClientApp: partition ``partition-id`` of the digits (node config)."""

from flwr.client import ClientApp
from flwr.common import Context

from digits_app.task import DigitsClient, private_data


def client_fn(context: Context):
    data = private_data(
        int(context.node_config["partition-id"]), int(context.run_config["samples"])
    )
    return DigitsClient(data.inputs, data.targets).to_client()


app = ClientApp(client_fn=client_fn)

"""The ClientApp, as Flower's PyTorch template writes it (Message API)."""

import torch
from flwr.app import ArrayRecord, Context, Message, MetricRecord, RecordDict
from flwr.clientapp import ClientApp

from template_app.task import Net, load_data
from template_app.task import test as test_fn
from template_app.task import train as train_fn

app = ClientApp()


def _data(context: Context):
    config = context.run_config
    return load_data(
        int(context.node_config["partition-id"]),
        int(config["batch-size"]),
        int(config["train-size"]),
        int(config["test-size"]),
    )


@app.train()
def train(msg: Message, context: Context) -> Message:
    """Train the model on local data."""
    model = Net()
    model.load_state_dict(msg.content["arrays"].to_torch_state_dict())
    device = "cuda:0" if torch.cuda.is_available() else "cpu"
    trainloader, _ = _data(context)
    train_loss = train_fn(
        model,
        trainloader,
        int(context.run_config["local-epochs"]),
        float(msg.content["config"]["lr"]),
        device,
    )
    metrics = {"train_loss": train_loss, "num-examples": len(trainloader.dataset)}
    content = RecordDict(
        {"arrays": ArrayRecord(model.state_dict()), "metrics": MetricRecord(metrics)}
    )
    return Message(content=content, reply_to=msg)


@app.evaluate()
def evaluate(msg: Message, context: Context) -> Message:
    """Evaluate the model on local data."""
    model = Net()
    model.load_state_dict(msg.content["arrays"].to_torch_state_dict())
    device = "cuda:0" if torch.cuda.is_available() else "cpu"
    _, valloader = _data(context)
    eval_loss, eval_acc = test_fn(model, valloader, device)
    metrics = {"eval_loss": eval_loss, "eval_acc": eval_acc, "num-examples": len(valloader.dataset)}
    return Message(content=RecordDict({"metrics": MetricRecord(metrics)}), reply_to=msg)

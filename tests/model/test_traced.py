"""Models read from their forward: what is read, and what is refused by node name."""

import pytest

torch = pytest.importorskip("torch")
import torch.nn.functional as F  # noqa: E402
from torch import nn  # noqa: E402

from lossrecon.errors import ConfigurationError  # noqa: E402
from lossrecon.model import trace  # noqa: E402


class QuickstartNet(nn.Module):
    """Flower's PyTorch quickstart CNN, as Flower ships it."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 6, 5)
        self.pool = nn.MaxPool2d(2, 2)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(16 * 5 * 5, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 10)

    def forward(self, x):
        x = self.pool(F.relu(self.conv1(x)))
        x = self.pool(F.relu(self.conv2(x)))
        x = x.view(-1, 16 * 5 * 5)
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        return self.fc3(x)


def test_the_quickstart_cnn_is_read_with_its_shared_pool_and_view() -> None:
    traced = trace(QuickstartNet())
    assert traced.describe() == (
        "conv2d -> relu -> max_pool2d -> conv2d -> relu -> max_pool2d -> flatten -> "
        "linear -> relu -> linear -> relu -> linear"
    )
    assert traced.convolutional and not traced.log_softmax
    assert [s.target for s in traced.steps if s.kind == "max_pool2d"] == ["pool", "pool"]
    assert traced.activation().name == "relu"


def test_lenet_as_a_sequential_with_average_pooling_is_read() -> None:
    lenet = nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.AvgPool2d(2),
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.AvgPool2d(2), nn.Flatten(),
        nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10),
    )  # fmt: skip
    assert trace(lenet).describe().startswith("conv2d -> relu -> avg_pool2d -> conv2d")


def test_a_functional_leaky_relu_and_a_final_log_softmax_are_read() -> None:
    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc1, self.fc2 = nn.Linear(8, 6), nn.Linear(6, 3)
            self.drop = nn.Dropout(0.2)

        def forward(self, x):
            x = self.drop(F.leaky_relu(self.fc1(torch.flatten(x, 1)), 0.2))
            return F.log_softmax(self.fc2(x), dim=1)

    traced = trace(Net())
    assert traced.describe() == "flatten -> linear -> leaky_relu -> linear -> log_softmax"
    assert traced.log_softmax and not traced.convolutional
    assert traced.activation().name == "leaky_relu"
    assert traced.activation().slope == pytest.approx(0.2)


def test_a_view_through_the_batch_size_is_a_reshape() -> None:
    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc = nn.Linear(4, 2)

        def forward(self, x):
            return self.fc(x.view(x.size(0), -1))

    assert trace(Net()).describe() == "flatten -> linear"


def test_a_residual_addition_is_refused_by_its_node() -> None:
    class Residual(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc1, self.fc2 = nn.Linear(4, 4), nn.Linear(4, 4)

        def forward(self, x):
            return self.fc2(F.relu(self.fc1(x)) + x)

    with pytest.raises(ConfigurationError, match="add of two tensors at node 'add'"):
        trace(Residual())


def test_data_dependent_control_flow_is_refused() -> None:
    class Branchy(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc = nn.Linear(4, 2)

        def forward(self, x):
            return self.fc(x) if x.sum() > 0 else -self.fc(x)

    with pytest.raises(ConfigurationError, match="control flow"):
        trace(Branchy())


def test_unknown_layers_and_mixed_activations_are_refused_by_name() -> None:
    with pytest.raises(ConfigurationError, match="layer Tanh at '1'"):
        trace(nn.Sequential(nn.Linear(4, 4), nn.Tanh(), nn.Linear(4, 2)))
    with pytest.raises(ConfigurationError, match="attention"):
        trace(nn.Sequential(nn.Linear(4, 4), nn.TransformerEncoderLayer(4, 1)))
    mixed = nn.Sequential(nn.Linear(4, 4), nn.ReLU(), nn.Linear(4, 4), nn.LeakyReLU(0.1))
    with pytest.raises(ConfigurationError, match="several activations"):
        trace(mixed).activation()

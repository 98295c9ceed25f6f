import pytest
import torch

from lossrecon.audit.model import ModelSpec, load_model
from lossrecon.errors import ConfigurationError
from lossrecon.loading import load_object


def mlp(*extra):
    return torch.nn.Sequential(
        *extra,
        torch.nn.Linear(16, 8),
        torch.nn.ReLU(),
        torch.nn.Linear(8, 4),
        torch.nn.ReLU(),
        torch.nn.Linear(4, 3),
    )


class Tanh(torch.nn.Module):
    """An MLP whose activation is applied in forward: the module list looks fine."""

    def __init__(self):
        super().__init__()
        self.fc1, self.fc2 = torch.nn.Linear(16, 8), torch.nn.Linear(8, 3)

    def forward(self, x):
        return self.fc2(torch.tanh(self.fc1(x)))


def test_a_flattened_square_input_is_an_image_and_the_layout_is_read():
    spec = ModelSpec.of(mlp(torch.nn.Flatten()))
    assert spec.widths == [16, 8, 4, 3] and spec.bias
    assert spec.image_shape == (4, 4) and spec.dtype == "float32"
    assert spec.keys == ("1.weight", "1.bias", "3.weight", "3.bias", "5.weight", "5.bias")
    assert ModelSpec.of(mlp()).image_shape is None


def test_an_activation_hidden_in_forward_is_refused_by_its_node():
    with pytest.raises(ConfigurationError, match="function tanh at node 'tanh'"):
        ModelSpec.of(Tanh())


def test_an_unsupported_layer_is_named():
    with pytest.raises(ConfigurationError, match="BatchNorm1d"):
        ModelSpec.of(mlp(torch.nn.BatchNorm1d(16)))


def test_references_that_do_not_resolve_say_so(tmp_path):
    with pytest.raises(ConfigurationError, match="must look like"):
        load_model("no_colon")
    with pytest.raises(ConfigurationError, match="cannot import"):
        load_model("no_such_module_here:Net")
    source = tmp_path / "models.py"
    source.write_text("import torch\nVALUE = 3\ndef make():\n    return torch.nn.Linear(2, 1)\n")
    assert isinstance(load_model(f"{source}:make"), torch.nn.Linear)
    with pytest.raises(ConfigurationError, match="no class or function 'VALUE'"):
        load_object(f"{source}:VALUE")


def test_a_functional_leaky_relu_and_a_log_softmax_output_are_read():
    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1, self.fc2 = torch.nn.Linear(64, 16), torch.nn.Linear(16, 10)

        def forward(self, x):
            x = torch.nn.functional.leaky_relu(self.fc1(torch.flatten(x, 1)), 0.1)
            return torch.nn.functional.log_softmax(self.fc2(x), dim=1)

    spec = ModelSpec.of(Net())
    assert spec.widths == [64, 16, 10]
    assert spec.activation.name == "leaky_relu" and spec.activation.slope == 0.1

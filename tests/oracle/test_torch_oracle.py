import numpy as np
import pytest
import torch
from torch import nn
from torch.nn.utils import parameters_to_vector

import lossrecon as lr
from lossrecon.errors import ConfigurationError


def model_and_net(bias, activation=nn.ReLU, name="relu", **params):
    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Linear(5, 6, bias=bias), activation(*params.values()), nn.Linear(6, 3, bias=bias)
    )
    return model, lr.ReLUNetwork([5, 6, 3], activation=name, bias=bias, **params)


@pytest.mark.parametrize("bias", [False, True])
@pytest.mark.parametrize(
    ("activation", "name", "params"),
    [(nn.ReLU, "relu", {}), (nn.LeakyReLU, "leaky_relu", {"slope": 0.2})],
)
def test_agrees_with_the_numpy_oracle_in_float64(rng, bias, activation, name, params):
    model, net = model_and_net(bias, activation, name, **params)
    x, y = rng.normal(size=(20, 5)), rng.normal(size=(20, 3))
    theirs = lr.TorchLossOracle(model, torch.from_numpy(x), y)
    ours = lr.NumpyLossOracle(net, x, y)
    W = net.random_weights(300, random_state=1)
    np.testing.assert_allclose(theirs(W), ours(W), rtol=1e-12)
    assert theirs.n_params == net.n_params


@pytest.mark.parametrize("reduction", ["sum", "mean"])
def test_mse_reductions(rng, reduction):
    model, _net = model_and_net(True)
    x, y = rng.normal(size=(8, 5)), rng.normal(size=(8, 3))
    oracle = lr.TorchLossOracle(model, x, y, loss_fn=nn.MSELoss(reduction=reduction))
    assert oracle.reduction == reduction
    w = parameters_to_vector(model.parameters()).detach().numpy()
    with torch.no_grad():
        expected = nn.MSELoss(reduction=reduction)(model(torch.from_numpy(x)), torch.from_numpy(y))
    assert oracle(w[None])[0] == pytest.approx(expected.item(), rel=1e-12)


def test_float32_is_close_but_not_exact(rng):
    model, net = model_and_net(False)
    x, y = rng.normal(size=(10, 5)), rng.normal(size=(10, 3))
    W = net.random_weights(4, random_state=2)
    single = lr.TorchLossOracle(model, x, y, dtype="float32")(W)
    np.testing.assert_allclose(single, lr.NumpyLossOracle(net, x, y)(W), rtol=1e-5)


@pytest.mark.parametrize(
    ("layer", "name"), [(nn.Conv1d(1, 1, 1), "Conv1d"), (nn.BatchNorm1d(6), "BatchNorm1d")]
)
def test_unsupported_layers_are_refused_by_name(layer, name):
    model = nn.Sequential(nn.Linear(5, 6), layer, nn.Linear(6, 3))
    with pytest.raises(ConfigurationError, match=f"layer {name} at '1' is not supported"):
        lr.TorchLossOracle(model, np.zeros((2, 5)), np.zeros((2, 3)))


def test_other_losses_are_refused():
    model, _ = model_and_net(False)
    with pytest.raises(ConfigurationError, match="MSELoss"):
        lr.TorchLossOracle(model, np.zeros((2, 5)), np.zeros((2, 3)), loss_fn=nn.L1Loss())


def test_chosen_weights_attack_on_a_torch_model(rng):
    model, _ = model_and_net(True)
    x, y = rng.normal(size=(15, 5)), rng.normal(size=(15, 3))
    oracle = lr.TorchLossOracle(model, x, y, loss_fn=nn.MSELoss(reduction="sum"))
    rec = lr.attacks.chosen_weights(oracle, [5, 6, 3], bias=True)
    report = lr.evaluate(rec, x, y)
    assert report["recall"] == 1.0 and report["input_rel_error_max"] < 1e-8

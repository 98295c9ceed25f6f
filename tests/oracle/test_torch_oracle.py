import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils import parameters_to_vector

import lossrecon as lr
from lossrecon.errors import ConfigurationError
from lossrecon.precision import ROUNDOFF, representable


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
    theirs = lr.TorchLossOracle(model, torch.from_numpy(x), y, dtype="float64")
    ours = lr.NumpyLossOracle(net, x, y)
    W = net.random_weights(300, random_state=1)
    np.testing.assert_allclose(theirs(W), ours(W), rtol=1e-12)
    assert theirs.n_params == net.n_params


@pytest.mark.parametrize("reduction", ["sum", "mean"])
def test_mse_reductions(rng, reduction):
    model, _net = model_and_net(True)
    x, y = rng.normal(size=(8, 5)), rng.normal(size=(8, 3))
    oracle = lr.TorchLossOracle(model, x, y, nn.MSELoss(reduction=reduction), dtype="float64")
    assert oracle.reduction == reduction
    w = parameters_to_vector(model.parameters()).detach().numpy()
    with torch.no_grad():
        expected = nn.MSELoss(reduction=reduction)(
            model.double()(torch.from_numpy(x)), torch.from_numpy(y)
        )
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


def test_dropout_is_evaluated_in_evaluation_mode_and_the_model_left_in_training_mode(rng):
    """A model handed over in training mode: the oracle's copy drops nothing, the
    user's model keeps its mode."""
    plain = nn.Sequential(nn.Linear(5, 6), nn.ReLU(), nn.Linear(6, 3))
    dropped = nn.Sequential(plain[0], plain[1], nn.Dropout(0.5), plain[2]).train()
    x, y = rng.normal(size=(10, 5)), rng.normal(size=(10, 3))
    W = rng.normal(size=(3, 5 * 6 + 6 + 6 * 3 + 3))
    with_dropout = lr.TorchLossOracle(dropped, x, y)
    np.testing.assert_array_equal(with_dropout(W), with_dropout(W))
    np.testing.assert_array_equal(with_dropout(W), lr.TorchLossOracle(plain, x, y)(W))
    assert dropped.training


def test_a_user_s_own_module_class_holding_supported_layers_is_read():
    """Flower's templates write class Net(nn.Module) with layers as attributes."""

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1, self.fc2 = nn.Linear(5, 4), nn.Linear(4, 3)

        def forward(self, x):
            return self.fc2(torch.relu(self.fc1(x)))

    oracle = lr.TorchLossOracle(Net(), np.zeros((2, 5)), np.zeros((2, 3)))
    assert oracle.n_params == 5 * 4 + 4 + 4 * 3 + 3
    with pytest.raises(ConfigurationError, match="layer Tanh is not supported"):
        lr.TorchLossOracle(nn.Tanh(), np.zeros((2, 5)), np.zeros((2, 5)))


def test_other_losses_are_refused():
    model, _ = model_and_net(False)
    with pytest.raises(ConfigurationError, match="MSELoss"):
        lr.TorchLossOracle(model, np.zeros((2, 5)), np.zeros((2, 3)), loss_fn=nn.L1Loss())


def test_chosen_weights_attack_on_a_torch_model(rng):
    model, _ = model_and_net(True)
    x, y = rng.normal(size=(15, 5)), rng.normal(size=(15, 3))
    oracle = lr.TorchLossOracle(model, x, y, nn.MSELoss(reduction="sum"), dtype="float64")
    rec = lr.attacks.chosen_weights(oracle, [5, 6, 3], bias=True)
    report = lr.evaluate(rec, x, y)
    assert report["recall"] == 1.0 and report["input_rel_error_max"] < 1e-8


def cross_entropy_oracle(rng, reduction="sum", m=12):
    model = nn.Sequential(nn.Linear(5, 6, bias=False), nn.ReLU(), nn.Linear(6, 3, bias=False))
    x, labels = rng.normal(size=(m, 5)), rng.integers(0, 3, size=m)
    loss_fn = nn.CrossEntropyLoss(reduction=reduction)
    return lr.TorchLossOracle(model, x, labels, loss_fn=loss_fn, dtype="float64"), x, labels


@pytest.mark.parametrize("reduction", ["sum", "mean"])
def test_cross_entropy_is_what_torch_computes(rng, reduction):
    oracle, x, labels = cross_entropy_oracle(rng, reduction)
    assert (oracle.loss, oracle.reduction) == ("cross_entropy", reduction)
    net = lr.ReLUNetwork([5, 6, 3])
    w = net.random_weights(random_state=2)
    logits = net.forward(w, x)
    per_sample = np.log(np.exp(logits).sum(1)) - logits[np.arange(len(x)), labels]
    expected = per_sample.sum() if reduction == "sum" else per_sample.mean()
    assert oracle(w)[0] == pytest.approx(expected, rel=1e-12)


def test_cross_entropy_targets_must_be_class_indices(rng):
    model = nn.Sequential(nn.Linear(5, 3, bias=False))
    with pytest.raises(ConfigurationError, match="class indices"):
        lr.TorchLossOracle(
            model, rng.normal(size=(4, 5)), rng.normal(size=(4, 3)), nn.CrossEntropyLoss()
        )


@pytest.mark.parametrize("attack", ["chosen_weights", "blind"])
def test_attacks_that_cannot_read_cross_entropy_refuse_it_and_say_why(rng, attack):
    oracle, _, _ = cross_entropy_oracle(rng)  # bias-free, one hidden layer: no gates
    run = getattr(lr.attacks, attack)
    reason = "only exact gates read" if attack == "chosen_weights" else "needs a squared loss"
    with pytest.raises(ConfigurationError, match=reason):
        run(oracle, [5, 6, 3]) if attack == "chosen_weights" else run(oracle)


def test_cross_entropy_still_bends_at_every_samples_hyperplane_and_leaks_its_label(rng):
    """What cross-entropy leaks: route one first-layer row p + t q to the logits along v.
    Sample i turns on at t_i = -(p·a_i)/(q·a_i), and there E' jumps by
    |q·a_i| (mean(v) - v_{y_i}): the hyperplanes (inputs up to scale, as with squared
    loss) and, through v_{y_i}, the labels. Between kinks E is smooth but not quadratic,
    which is why the attacks, built on quadratic pieces, refuse it."""
    oracle, x, labels = cross_entropy_oracle(rng, m=6)
    p, q, v = rng.normal(size=5), rng.normal(size=5), np.array([0.7, -1.1, 0.3])

    def line(t):
        W = np.zeros((len(t), oracle.n_params))
        W[:, :5] = p + t[:, None] * q  # row 0 of the first layer
        W[:, 30 + np.arange(3) * 6] = v  # column 0 of the last layer
        return oracle(W)

    h = 1e-5
    for a, label in zip(x, labels, strict=True):
        t_i = -(p @ a) / (q @ a)
        left = (line(np.array([t_i - h])) - line(np.array([t_i - 2 * h]))) / h
        right = (line(np.array([t_i + 2 * h])) - line(np.array([t_i + h]))) / h
        expected = abs(q @ a) * (v.mean() - v[label])
        assert (right - left)[0] == pytest.approx(expected, rel=1e-3, abs=1e-6)


@pytest.mark.parametrize("dtype", ["float32", "float16", "bfloat16"])
def test_the_model_is_evaluated_in_its_own_dtype_and_left_unchanged(rng, dtype):
    model, net = model_and_net(True)
    model = model.to(getattr(torch, dtype))
    before = [p.detach().clone() for p in model.parameters()]
    x, y = rng.normal(size=(6, 5)), rng.normal(size=(6, 3))
    oracle = lr.TorchLossOracle(model, x, y, nn.MSELoss())
    W = net.random_weights(3, random_state=0)
    answers = oracle(W)
    assert oracle.dtype == dtype
    assert representable(answers, dtype)
    assert all(p.dtype == getattr(torch, dtype) for p in model.parameters())
    assert all(torch.equal(a, b) for a, b in zip(before, model.parameters(), strict=True))
    exact = lr.TorchLossOracle(model, x, y, nn.MSELoss(), dtype="float64")(W)
    np.testing.assert_allclose(answers, exact, rtol=64 * ROUNDOFF[dtype])


@pytest.mark.parametrize("dtype", ["float32", "float16", "bfloat16"])
def test_in_format_rounds_weights_as_pytorch_stores_them(dtype, rng):
    from lossrecon.precision import in_format

    x = rng.normal(size=20000) * 10.0 ** rng.uniform(-6, 6, size=20000)
    stored = torch.tensor(x).to(getattr(torch, dtype)).double().numpy()
    with np.errstate(over="ignore"):
        assert np.array_equal(in_format(x, dtype), stored)


@pytest.mark.parametrize(
    "forward",
    [
        lambda fc1, fc2, x: fc2(torch.tanh(fc1(x))),
        lambda fc1, fc2, x: torch.softmax(fc2(torch.relu(fc1(x))), dim=1),
    ],
    ids=["tanh", "softmax"],
)
def test_a_forward_that_is_not_the_chain_is_refused_as_the_audit_refuses_it(forward, request):
    """The oracle asks the one check the audit asks (a tanh or a softmax output gave 0
    samples and warnings here, a refusal there), naming the function and its node."""
    from lossrecon.audit.model import ModelSpec

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1, self.fc2 = nn.Linear(5, 4), nn.Linear(4, 3)

        def forward(self, x):
            return forward(self.fc1, self.fc2, x)

    with pytest.raises(ConfigurationError) as oracle_refusal:
        lr.TorchLossOracle(Net(), np.zeros((2, 5)), np.zeros((2, 3)))
    with pytest.raises(ConfigurationError) as audit_refusal:
        ModelSpec.of(Net())
    assert str(oracle_refusal.value) == str(audit_refusal.value)
    name = request.node.callspec.id
    assert f"function {name} at node '{name}' is not read" in str(oracle_refusal.value)


def test_leaky_relu_is_read_as_the_refusal_lists_it():
    from lossrecon.audit import audit_torch

    torch.manual_seed(1)
    model = nn.Sequential(nn.Linear(8, 6), nn.LeakyReLU(0.1), nn.Linear(6, 6), nn.LeakyReLU(0.1))
    model = nn.Sequential(*model, nn.Linear(6, 2)).double()
    data = lr.synthetic(10, 8, 2, random_state=3)
    result = audit_torch(model, data.inputs, data.targets, loss="mse", defenses=False)
    (split,) = result.splits
    assert split.reconstruction.stats.method == "hat"
    assert split.score["recall"] == 1.0


class LogSoftmaxNet(nn.Module):
    """Activations applied in forward as functions, log-probabilities out."""

    def __init__(self, slope: float | None = None) -> None:
        super().__init__()
        self.fc1, self.fc2, self.fc3 = nn.Linear(5, 6), nn.Linear(6, 6), nn.Linear(6, 3)
        self.slope = slope

    def act(self, z):
        return F.relu(z) if self.slope is None else F.leaky_relu(z, self.slope)

    def forward(self, x):
        x = self.act(self.fc2(self.act(self.fc1(x))))
        return F.log_softmax(self.fc3(x), dim=1)


def test_nll_loss_on_a_log_softmax_model_is_its_cross_entropy(rng):
    torch.manual_seed(0)
    model = LogSoftmaxNet(slope=0.2)
    logits = nn.Sequential(model.fc1, nn.LeakyReLU(0.2), model.fc2, nn.LeakyReLU(0.2), model.fc3)
    x, classes = rng.normal(size=(12, 5)), rng.integers(0, 3, size=12)
    nll = lr.TorchLossOracle(model, x, classes, nn.NLLLoss(reduction="sum"), dtype="float64")
    ce = lr.TorchLossOracle(
        logits, x, classes, nn.CrossEntropyLoss(reduction="sum"), dtype="float64"
    )
    assert nll.loss == "cross_entropy"
    W = rng.normal(size=(20, nll.n_params))
    np.testing.assert_allclose(nll(W), ce(W), rtol=1e-12)


def test_nll_loss_on_logits_and_squares_of_log_probabilities_are_refused(rng):
    model, _ = model_and_net(True)
    with pytest.raises(ConfigurationError, match="NLLLoss takes log-probabilities"):
        lr.TorchLossOracle(model, np.zeros((2, 5)), np.zeros(2), nn.NLLLoss())
    with pytest.raises(ConfigurationError, match="ends in log_softmax"):
        lr.TorchLossOracle(LogSoftmaxNet(), np.zeros((2, 5)), np.zeros((2, 3)), nn.MSELoss())


def test_a_log_softmax_model_is_read_exactly_through_nll_loss():
    torch.manual_seed(2)
    data = lr.load_dataset("digits", n_samples=6)
    model = LogSoftmaxNet()
    model.fc1 = nn.Linear(64, 6)
    model.fc3 = nn.Linear(6, 10)
    classes = data.targets.argmax(1)
    oracle = lr.TorchLossOracle(model, data.inputs, classes, nn.NLLLoss(), dtype="float64")
    rec = lr.attacks.chosen_weights(oracle, [64, 6, 6, 10], bias=True)
    assert lr.evaluate(rec, data.inputs, data.targets)["recall"] == 1.0

import numpy as np
import pytest

import lossrecon as lr
from lossrecon.errors import ConfigurationError
from lossrecon.oracle import (
    ClippedLoss,
    JournalOracle,
    LossConvention,
    NoisyLoss,
    RoundedLoss,
    convention_of,
)


class Plain:
    """An oracle that declares nothing but what a plain object may."""

    n_params = 3

    def __call__(self, W):
        return np.zeros(len(W))


def numpy_oracle(**kwargs):
    net = lr.ReLUNetwork([2, 3, 1])
    return lr.NumpyLossOracle(net, np.ones((4, 2)), np.ones((4, 1)), **kwargs)


WRAPPERS = [
    lambda o, tmp: lr.CountingOracle(o),
    lambda o, tmp: JournalOracle(o, tmp / "journal"),
    lambda o, tmp: NoisyLoss(o, 0.1),
    lambda o, tmp: RoundedLoss(o, 4),
    lambda o, tmp: ClippedLoss(o, 1.0),
    lambda o, tmp: lr.CountingOracle(RoundedLoss(JournalOracle(o, tmp / "j2"), 3)),
]


@pytest.mark.parametrize("wrap", WRAPPERS)
def test_every_wrapper_carries_the_whole_convention(wrap, tmp_path):
    inner = numpy_oracle(reduction="mean", dtype="float32")
    wrapped = wrap(inner, tmp_path)
    assert convention_of(wrapped) == LossConvention("squared", "mean", "float32", 4)
    assert (wrapped.loss, wrapped.reduction, wrapped.dtype) == ("squared", "mean", "float32")
    assert wrapped.n_samples == 4


def test_a_plain_object_declares_what_its_attributes_say():
    assert convention_of(Plain()) == LossConvention()
    plain = Plain()
    plain.reduction, plain.num_examples = "sum", 9
    assert convention_of(plain) == LossConvention(reduction="sum", n_samples=9)
    assert lr.CountingOracle(plain).reduction == "sum"


def test_a_bad_declaration_is_refused_by_name():
    with pytest.raises(ConfigurationError, match="unknown reduction 'avg'"):
        LossConvention(reduction="avg")
    with pytest.raises(ConfigurationError, match="unknown dtype"):
        LossConvention(dtype="int8")
    assert LossConvention(dtype=np.float16).dtype == "float16"


@pytest.mark.parametrize("defense", [lambda o: RoundedLoss(o, 6), lambda o: NoisyLoss(o, 1e-9)])
def test_a_defended_cross_entropy_oracle_is_still_refused(defense):
    torch = pytest.importorskip("torch")
    model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU(), torch.nn.Linear(4, 2))
    x, labels = np.ones((5, 3)), np.array([0, 1, 0, 1, 1])
    oracle = lr.TorchLossOracle(model, x, labels, loss_fn=torch.nn.CrossEntropyLoss())
    with pytest.raises(ConfigurationError, match="'cross_entropy'"):
        lr.attacks.chosen_weights(defense(oracle), [3, 4, 2], bias=True)

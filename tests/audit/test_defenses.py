import numpy as np
import torch

import lossrecon as lr
from lossrecon.audit.defenses import Defense, answer_defenses, honest_weights, measure
from lossrecon.errors import OracleError
from lossrecon.oracle.torch_oracle import TorchLossOracle

from .conftest import digits_mlp


def target(count=8):
    net = digits_mlp(1)
    digits = lr.load_dataset("digits")
    x, y = digits.inputs[:count] / 16.0, digits.targets[:count]
    return net, x, y


def attack(oracle):
    return lr.attacks.chosen_weights(oracle, [64, 32, 16, 10], bias=True, snap=True)


class Broken:
    """An oracle that fails: a defense under which the client stops answering."""

    n_params = 32 * 65 + 16 * 33 + 10 * 17

    def __call__(self, W):
        raise OracleError("the client is gone")


def test_each_defense_is_scored_and_costed_and_a_failure_is_a_row():
    net, x, y = target()

    def plain():
        return TorchLossOracle(net, x, y.argmax(1), torch.nn.CrossEntropyLoss())

    w0 = torch.nn.utils.parameters_to_vector(net.parameters()).detach().double().numpy()
    rows = answer_defenses(plain, digits=(4,), noise=(1e-1,))
    rows.append(Defense("broken", 1.0, "a client that stops", Broken))
    results = measure(rows, plain(), attack, honest_weights(w0), (x, y))
    rounded, noisy, broken = results
    assert rounded.recall == 1.0 and rounded.loss_change < 1e-3
    assert 0.01 < noisy.loss_change < 0.2  # median |xi| * sigma for sigma = 0.1
    assert broken.recovered == 0 and broken.recall == 0.0 and "gone" in broken.error
    assert np.isfinite([r.loss_change for r in results[:2]]).all()

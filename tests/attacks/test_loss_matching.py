import numpy as np
import pytest

import lossrecon as lr
from lossrecon.errors import ConfigurationError


@pytest.fixture
def target():
    data = lr.synthetic(6, 4, 2, random_state=0)
    return lr.NumpyLossOracle(lr.ReLUNetwork([4, 5, 2]), data.inputs, data.targets), data


def test_learns_dummies_that_explain_the_losses_better_than_where_it_started(target):
    oracle, _ = target
    untrained = lr.attacks.loss_matching(
        oracle, [4, 5, 2], n_samples=6, adam_steps=0, lbfgs_steps=1
    )
    trained = lr.attacks.loss_matching(oracle, [4, 5, 2], n_samples=6, adam_steps=300)
    assert trained.inputs.shape == (6, 4) and trained.targets.shape == (6, 2)
    assert trained.scale_known
    assert trained.stats.relative_misfit < 0.5 * untrained.stats.relative_misfit


def test_spends_exactly_its_budget_and_is_reproducible(target):
    oracle, _ = target
    kwargs = {"n_samples": 6, "adam_steps": 20, "lbfgs_steps": 5}
    first = lr.attacks.loss_matching(oracle, [4, 5, 2], budget=90, **kwargs)
    second = lr.attacks.loss_matching(oracle, [4, 5, 2], budget=90, **kwargs)
    assert first.queries == 90
    np.testing.assert_array_equal(first.inputs, second.inputs)


def test_bad_arguments(target):
    oracle, _ = target
    with pytest.raises(ConfigurationError, match="N = "):
        lr.attacks.loss_matching(oracle, [4, 6, 2], n_samples=6)
    with pytest.raises(ConfigurationError, match="n_samples"):
        lr.attacks.loss_matching(oracle, [4, 5, 2], n_samples=0)

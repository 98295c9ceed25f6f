import warnings

import numpy as np
import pytest

pytest.importorskip("ray")

import lossrecon as lr
from lossrecon.errors import ConfigurationError
from lossrecon.oracle.sharded import ShardedLossOracle


@pytest.fixture(scope="module")
def problem():
    data = lr.synthetic(60, 6, 2, random_state=3)
    return lr.ReLUNetwork([6, 5, 4, 2]), data


@pytest.mark.parametrize("reduction", ["half_sum", "mean"])
def test_shards_add_up_to_the_whole_loss(problem, reduction):
    net, data = problem
    kwargs = {"reduction": reduction, "regularizer": lr.weight_decay(0.1)}
    whole = lr.NumpyLossOracle(net, data.inputs, data.targets, **kwargs)
    sharded = ShardedLossOracle(
        net, data.inputs, data.targets, shards=3, cpus_per_shard=0.5, **kwargs
    )
    try:
        W = net.random_weights(50, random_state=0)
        np.testing.assert_allclose(sharded(W), whole(W), rtol=1e-12)
        assert sharded.reduction == reduction and sharded.n_params == net.n_params
    finally:
        sharded.close()


def test_the_attack_runs_on_a_sharded_oracle(problem):
    net, data = problem
    sharded = ShardedLossOracle(net, data.inputs, data.targets, shards=2)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            rec = lr.attacks.chosen_weights(sharded, net.widths)
    finally:
        sharded.close()
    assert lr.evaluate(rec, data.inputs, data.targets)["recall"] == 1.0


def test_impossible_shardings_are_refused_not_left_waiting(problem):
    net, data = problem
    with pytest.raises(ConfigurationError, match="shards must be between 1 and M"):
        ShardedLossOracle(net, data.inputs, data.targets, shards=61)
    with pytest.raises(ConfigurationError, match="the Ray cluster has"):
        ShardedLossOracle(net, data.inputs, data.targets, shards=2, cpus_per_shard=64)

import warnings

import numpy as np
import pytest

import lossrecon as lr
from lossrecon.errors import AttackError, LossreconWarning
from lossrecon.oracle.defenses import NoisyLoss


def gaussian(m, n, d=1, seed=1):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(m, n)), rng.normal(size=(m, d))


def attack(x, y, widths, wrap=None, **kwargs):
    net = lr.ReLUNetwork(widths)
    oracle = lr.NumpyLossOracle(net, x, y, **kwargs.pop("oracle_kwargs", {}))
    if wrap is not None:
        oracle = wrap(oracle)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rec = lr.attacks.blind(oracle, **kwargs)
    return rec, lr.evaluate(rec, x, y)


@pytest.mark.parametrize(("widths", "m"), [([8, 6, 4, 1], 12), ([16, 8, 8, 1], 20)])
def test_inputs_up_to_scale_and_every_width(widths, m):
    x, y = gaussian(m, widths[0], widths[-1])
    rec, report = attack(x, y, widths, random_state=2)
    assert rec.widths == widths
    assert not rec.scale_known and rec.targets is None
    assert report["recall"] == 1.0 and report["precision"] == 1.0
    assert np.allclose(np.linalg.norm(rec.inputs, axis=1), 1.0)
    assert rec.stats.complete
    assert rec.queries == sum(rec.stats.queries_by_phase.values())


def test_oriented_directions_point_like_the_inputs():
    x, y = gaussian(12, 8)
    rec, _ = attack(x, y, [8, 6, 4, 1], random_state=3)
    oriented = rec.stats.oriented
    assert oriented.mean() > 0.5
    cos = rec.inputs @ (x / np.linalg.norm(x, axis=1, keepdims=True)).T
    best = cos[np.arange(len(cos)), np.abs(cos).argmax(1)]
    assert np.all(best[oriented] > 0)


@pytest.mark.parametrize(
    "oracle_kwargs",
    [{}, {"reduction": "sum"}, {"regularizer": lr.weight_decay(0.05)}],
)
def test_exact_scale_and_labels_from_a_linear_fit_of_the_loss(oracle_kwargs):
    x, y = gaussian(10, 8, 2)
    rec, report = attack(x, y, [8, 6, 4, 2], exact=True, oracle_kwargs=oracle_kwargs)
    assert rec.scale_known
    assert report["recall"] == 1.0
    assert report["input_rel_error_median"] < 1e-8
    assert report["target_rel_error_median"] < 1e-7
    expected_decay = 0.05 if "regularizer" in oracle_kwargs else 0.0
    assert rec.stats.weight_decay == pytest.approx(expected_decay, abs=1e-7)


def test_mean_reduction_needs_the_sample_count_for_the_scale():
    x, y = gaussian(10, 8, 2)
    kwargs = {"oracle_kwargs": {"reduction": "mean"}, "exact": True}
    _, report = attack(x, y, [8, 6, 4, 2], n_samples=10, **kwargs)
    assert report["input_rel_error_median"] < 1e-8


def test_the_loss_decides_what_sing_x_leaves_open():
    """No kink lies on the output layer, so [.., 2, 3] and [.., 2, 2, 1] both explain
    every kink; only the true layout makes the scale fit explain the loss."""
    widths = [5, 3, 7, 2, 3]
    x, y = gaussian(10, 5, 3, seed=4)
    rec, report = attack(x, y, widths, random_state=1)
    assert rec.widths == widths
    assert rec.stats.layout_alternatives == [[5, 3, 7, 2, 2, 1]]
    assert report["recall"] == 1.0


def test_duplicates_and_zero_inputs():
    x, y = gaussian(9, 8)
    x[3] = 2.5 * x[1]  # the same direction: one sample up to scale
    x[5] = 0.0  # no kink at all
    rec, report = attack(x, y, [8, 6, 4, 1], random_state=0)
    assert report["n_true"] == 7 and rec.n_samples == 7
    assert report["recall"] == 1.0 and report["precision"] == 1.0


def test_same_seed_same_result():
    x, y = gaussian(8, 8)
    first, _ = attack(x, y, [8, 6, 4, 1], random_state=5)
    second, _ = attack(x, y, [8, 6, 4, 1], random_state=5)
    assert np.array_equal(first.inputs, second.inputs)
    assert first.queries == second.queries


def test_budget_too_small_for_the_architecture_returns_nothing_and_says_why():
    x, y = gaussian(8, 8)
    rec, _ = attack(x, y, [8, 6, 4, 1], budget=500)
    assert "stopped early in phase 'architecture'" in rec.stats.warnings[-1]
    assert rec.stats.stopped == "budget" and rec.widths is None and rec.n_samples == 0


def test_budget_running_out_while_reading_inputs_keeps_what_was_found():
    x, y = gaussian(20, 8)
    full, _ = attack(x, y, [8, 6, 4, 1], random_state=0)
    budget = (
        full.stats.queries_by_phase["architecture"] + full.stats.queries_by_phase["inputs"] // 2
    )
    net = lr.ReLUNetwork([8, 6, 4, 1])
    with pytest.warns(UserWarning, match="stopped early"):
        rec = lr.attacks.blind(lr.NumpyLossOracle(net, x, y), budget=budget, random_state=0)
    report = lr.evaluate(rec, x, y)
    assert rec.queries <= budget
    assert report["precision"] == 1.0
    assert 0 < rec.n_samples <= full.n_samples
    assert not rec.stats.complete


def test_biases_are_outside_the_threat_model_and_said_so():
    x, y = gaussian(10, 6)
    net = lr.ReLUNetwork([6, 5, 4, 1], bias=True)
    oracle = lr.NumpyLossOracle(net, x, y)
    with pytest.raises(AttackError, match="no bias-free ReLU layout"):
        lr.attacks.blind(oracle)


def test_a_noisy_loss_is_reported_not_misread():
    x, y = gaussian(10, 8)
    with pytest.warns(LossreconWarning, match="never settles"):
        rec = lr.attacks.blind(
            NoisyLoss(lr.NumpyLossOracle(lr.ReLUNetwork([8, 6, 4, 1]), x, y), 1e-6)
        )
    assert rec.stats.stopped == "unreadable" and rec.n_samples == 0

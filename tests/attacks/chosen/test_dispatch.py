import warnings

import numpy as np
import pytest

import lossrecon as lr
from lossrecon.errors import ConfigurationError, LossreconWarning

ACTIVATIONS = [
    ("relu", {}),
    ("leaky_relu", {"slope": 0.1}),
    ("maxout", {"k": 2}),
    ("lwta", {"k": 2}),
]


def attack(x, y, widths, activation="relu", bias=False, **kwargs):
    params = dict(ACTIVATIONS)[activation]
    net = lr.ReLUNetwork(widths, activation=activation, bias=bias, **params)
    oracle = lr.NumpyLossOracle(net, x, y, **kwargs.pop("oracle_kwargs", {}))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rec = lr.attacks.chosen_weights(
            oracle, widths, activation=activation, bias=bias, **params, **kwargs
        )
    return rec, lr.evaluate(rec, x, y)


def gaussian(m, n, d=3, seed=1):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(m, n)), rng.normal(size=(m, d))


@pytest.mark.parametrize(("activation", "params"), ACTIVATIONS)
@pytest.mark.parametrize("bias", [False, True])
def test_exact_inputs_and_labels(activation, params, bias):
    x, y = gaussian(30, 8)
    rec, report = attack(x, y, [8, 6, 6, 3], activation, bias)
    assert rec.scale_known
    assert report["precision"] == 1.0
    assert report["recall"] >= 0.9
    assert report["input_rel_error_median"] < 1e-9
    assert report["target_rel_error_median"] < 1e-9


@pytest.mark.parametrize("reduction", ["sum", "mean"])
def test_other_reductions(reduction):
    x, y = gaussian(25, 6)
    _, report = attack(x, y, [6, 5, 3], oracle_kwargs={"reduction": reduction}, n_samples=25)
    assert report["recall"] >= 0.9 and report["input_rel_error_median"] < 1e-9


def test_unknown_weight_decay_is_calibrated_away():
    x, y = gaussian(25, 6)
    _, report = attack(x, y, [6, 5, 3], oracle_kwargs={"regularizer": lr.weight_decay(0.07)})
    assert report["recall"] >= 0.9
    assert report["input_rel_error_median"] < 1e-9
    assert report["target_rel_error_median"] < 1e-9


def test_deeper_network():
    x, y = gaussian(20, 5)
    _, report = attack(x, y, [5, 4, 4, 4, 3])
    assert report["recall"] >= 0.9 and report["input_rel_error_median"] < 1e-9


def test_fewer_samples_than_features_and_more():
    for m, n in [(5, 20), (60, 4)]:
        x, y = gaussian(m, n)
        _, report = attack(x, y, [n, 5, 3])
        assert report["recall"] >= 0.9, (m, n)


def test_zero_labels_and_zero_inputs():
    x, y = gaussian(20, 6)
    y[:5] = 0.0
    x[-2:] = 0.0
    _rec, report = attack(x, y, [6, 5, 3])
    assert report["n_zero_inputs"] == 2
    assert report["recall"] >= 0.9 and report["target_rel_error_max"] < 1e-6


def test_duplicates_are_found_once_and_biases_give_multiplicity():
    x, y = gaussian(15, 5)
    x = np.vstack([x, x[:1]])
    y = np.vstack([y, y[:1]])
    rec, report = attack(x, y, [5, 4, 3], bias=True)
    assert report["n_duplicates_merged"] == 1
    assert report["recall"] >= 0.9 and report["input_rel_error_max"] < 1e-6
    assert sorted(np.round(rec.stats.multiplicity).astype(int))[-1] == 2


def test_bias_free_duplicates_come_back_scaled_by_root_multiplicity():
    """Without biases m copies of (a, b) and one copy of (sqrt(m) a, sqrt(m) b) give the
    same loss; lossrecon reports the latter (the information is not there)."""
    x, y = gaussian(10, 5)
    x2, y2 = np.vstack([x, x[:1]]), np.vstack([y, y[:1]])
    rec, _ = attack(x2, y2, [5, 4, 3])
    norms = np.linalg.norm(rec.inputs, axis=1)
    assert np.isclose(norms, np.sqrt(2) * np.linalg.norm(x[0])).any()


def test_nearly_parallel_inputs():
    x, y = gaussian(12, 6)
    direction = np.zeros(6)
    direction[1] = 1.0
    x[1] = x[0] + np.sqrt(2e-9) * np.linalg.norm(x[0]) * direction
    _rec, report = attack(x, y, [6, 5, 3])
    assert 1 - abs(np.dot(x[0], x[1]) / np.linalg.norm(x[0]) / np.linalg.norm(x[1])) < 2e-9
    assert report["recall"] >= 0.9 and report["precision"] == 1.0


def test_large_and_small_norms():
    """Norms 100x and 0.01x the rest: loss shares 1e8 apart are all read in float64."""
    x, y = gaussian(20, 6)
    x[:3] *= 1e2
    x[3:6] *= 1e-2
    _, report = attack(x, y, [6, 5, 3])
    assert report["precision"] == 1.0 and report["recall"] == 1.0
    assert report["input_rel_error_max"] < 1e-6


def test_shares_beyond_float64_are_missed_not_garbled():
    """Norms 1e3 and 1e-3 side by side put loss shares 1e12 apart, past what float64
    resolves next to each other: the small samples may be missed, never faked."""
    x, y = gaussian(20, 6)
    x[:3] *= 1e3
    x[3:6] *= 1e-3
    _, report = attack(x, y, [6, 5, 3])
    assert report["precision"] == 1.0 and report["recall"] >= 14 / 20


class Recording:
    """An oracle of N weights that records every batch it is asked."""

    def __init__(self, n_params):
        self.n_params, self.calls = n_params, []

    def __call__(self, W):
        self.calls.append(W)
        return np.zeros(len(W))


def test_widths_that_do_not_match_fail_before_any_query():
    oracle = Recording(17)
    with pytest.raises(ConfigurationError, match="N = 17"):
        lr.attacks.chosen_weights(oracle, [4, 3, 1])
    assert oracle.calls == []


def test_a_torch_model_for_the_architecture_is_refused_in_one_line_before_any_query():
    """Reading an nn.Module's architecture is not built yet: a ConfigurationError that
    says what to give instead, not a TypeError from deep inside."""
    torch = pytest.importorskip("torch")
    net = type("Net", (torch.nn.Sequential,), {})(torch.nn.Linear(4, 3), torch.nn.Linear(3, 2))
    oracle = Recording(23)
    with pytest.raises(ConfigurationError, match=r"Net model; attacks take its widths"):
        lr.attacks.chosen_weights(oracle, net)
    with pytest.raises(ConfigurationError, match="list of layer widths"):
        lr.attacks.chosen_weights(oracle, "4,3,2")
    assert oracle.calls == []


def test_narrow_networks_are_refused_with_a_reason():
    net = lr.ReLUNetwork([3, 2, 1])
    oracle = lr.NumpyLossOracle(net, np.ones((2, 3)), np.ones((2, 1)))
    with pytest.raises(ConfigurationError, match="needs 3"):
        lr.attacks.chosen_weights(oracle, [3, 2, 1])


def test_smooth_oracle_gives_an_empty_result_and_a_warning():
    class Smooth:
        n_params = lr.ReLUNetwork([3, 4, 1]).n_params

        def __call__(self, W):
            return np.log1p((W**2).sum(axis=1)) + np.tanh(W[:, 0])

    with pytest.warns(UserWarning, match="no kinks found"):
        rec = lr.attacks.chosen_weights(Smooth(), [3, 4, 1])
    assert rec.n_samples == 0


def test_budget_is_honoured():
    x, y = gaussian(10, 4)
    net = lr.ReLUNetwork([4, 4, 2])
    oracle = lr.CountingOracle(lr.NumpyLossOracle(net, x, y[:, :2]))
    with pytest.warns(LossreconWarning, match="stopped early"):
        rec = lr.attacks.chosen_weights(oracle, [4, 4, 2], budget=50)
    assert rec.stats.stopped == "budget" and oracle.queries <= 50


def test_a_budget_spent_in_a_later_pass_keeps_the_samples_of_the_earlier_ones():
    x, y = gaussian(20, 5)
    x[1] = x[0] * (1 + 1e-11)  # too close to separate on the first chart: a second pass
    net = lr.ReLUNetwork([5, 4, 3])
    whole = lr.attacks.chosen_weights(lr.NumpyLossOracle(net, x, y), net)
    assert whole.stats.passes >= 2
    first_pass = lr.CountingOracle(lr.NumpyLossOracle(net, x, y))
    with pytest.warns(LossreconWarning, match="stopped early in pass 2"):
        rec = lr.attacks.chosen_weights(first_pass, net, budget=whole.queries - 1)
    assert rec.stats.stopped == "budget" and rec.n_samples >= 18
    assert lr.evaluate(rec, x, y)["precision"] == 1.0


def test_a_lost_client_returns_what_was_recovered():
    x, y = gaussian(20, 5)
    x[1] = x[0] * (1 + 1e-11)
    net = lr.ReLUNetwork([5, 4, 3])
    exact = lr.NumpyLossOracle(net, x, y)
    whole = lr.attacks.chosen_weights(exact, net)

    class Lost:
        n_params = exact.n_params
        answered = 0

        def __call__(self, W):
            if self.answered + len(W) > whole.queries - 1:
                raise ConnectionError("client gone")
            self.answered += len(W)
            return exact(W)

    with pytest.warns(LossreconWarning, match="client gone"):
        rec = lr.attacks.chosen_weights(Lost(), net)
    assert rec.stats.stopped == "oracle" and rec.n_samples >= 18


def test_same_seed_same_result():
    x, y = gaussian(10, 4)
    a, _ = attack(x, y, [4, 4, 3], random_state=3)
    b, _ = attack(x, y, [4, 4, 3], random_state=3)
    np.testing.assert_array_equal(a.inputs, b.inputs)


def test_a_noisy_loss_is_reported_not_chased():
    x, y = gaussian(20, 5)
    net = lr.ReLUNetwork([5, 4, 3])
    exact = lr.NumpyLossOracle(net, x, y)
    rng = np.random.default_rng(0)

    class Noisy:
        n_params = exact.n_params

        def __call__(self, W):
            losses = exact(W)
            return losses * (1 + 1e-6 * rng.normal(size=len(losses)))

    oracle = lr.CountingOracle(Noisy())
    with pytest.warns(UserWarning) as caught:
        rec = lr.attacks.chosen_weights(oracle, [5, 4, 3])
    messages = " | ".join(str(w.message) for w in caught)
    assert "never settles" in messages and "no kinks found" in messages
    assert rec.n_samples == 0
    assert oracle.queries < 5000


def test_queries_are_counted_per_phase():
    x, y = gaussian(15, 5)
    rec, _ = attack(x, y, [5, 4, 3])
    phases = rec.stats.queries_by_phase
    assert set(phases) == {"chart", "calibration", "isolation", "coordinates", "labels"}
    assert sum(phases.values()) == rec.queries
    assert phases["coordinates"] >= 5 * 15  # every coordinate of every sample read once

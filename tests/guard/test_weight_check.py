import numpy as np
import pytest

from lossrecon.errors import ConfigurationError
from lossrecon.guard import WeightCheck


@pytest.fixture
def initial():
    rng = np.random.default_rng(0)
    return {
        "fc1.weight": rng.uniform(-0.125, 0.125, (32, 64)),
        "fc1.bias": rng.uniform(-0.125, 0.125, 32),
        "fc2.weight": rng.uniform(-0.18, 0.18, (10, 32)),
        "fc2.bias": np.zeros(10),
    }


def test_honest_training_steps_pass(initial):
    rng = np.random.default_rng(1)
    check, accepted = WeightCheck(initial), {}
    state = dict(initial)
    for _ in range(10):  # weights that drift and grow a little every round
        state = {k: 1.2 * v + 0.02 * rng.standard_normal(v.shape) for k, v in state.items()}
        assert check.findings(state, accepted) == []
        accepted = {k: max(accepted.get(k, 0.0), s) for k, s in check.magnitudes(state).items()}


def test_gate_sized_values_zero_rows_copies_and_nans_are_flagged(initial):
    check = WeightCheck(initial)
    large = dict(initial, **{"fc1.bias": np.full(32, 50.0)})
    assert "fc1.bias reaches 50" in check.findings(large, {})[0]
    zero_rows = dict(
        initial, **{"fc1.weight": np.vstack([initial["fc1.weight"][:30], np.zeros((2, 64))])}
    )
    assert check.findings(zero_rows, {}) == ["fc1.weight has 2 rows of exact zeros"]
    copied = initial["fc2.weight"].copy()
    copied[3] = copied[1]
    assert check.findings(dict(initial, **{"fc2.weight": copied}), {}) == [
        "fc2.weight has 1 rows that repeat another"
    ]
    broken = dict(initial, **{"fc2.bias": np.array([np.nan] * 10)})
    assert check.findings(broken, {}) == ["fc2.bias holds values that are not finite"]


def test_a_legacy_parameter_list_is_matched_in_order(initial):
    check = WeightCheck(initial)
    legacy = {str(i): array for i, array in enumerate(initial.values())}
    assert check.named(legacy) is not None
    assert list(check.named(legacy)) == list(initial)
    assert check.named({"0": initial["fc1.weight"]}) is None


def test_a_check_without_a_model_or_with_no_room_to_grow_is_refused(initial):
    with pytest.raises(ConfigurationError):
        WeightCheck({})
    with pytest.raises(ConfigurationError):
        WeightCheck(initial, growth=1.0)

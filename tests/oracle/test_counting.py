import numpy as np
import pytest

import lossrecon as lr
from lossrecon.errors import ConfigurationError, OracleError, QueryBudgetExceeded


class FakeOracle:
    """An oracle that answers whatever it is told to (to test validation)."""

    def __init__(self, answer, n_params=3):
        self.n_params = n_params
        self.answer = answer

    def __call__(self, W):
        return self.answer(W) if callable(self.answer) else self.answer


def good(W):
    return W.sum(axis=1)


def test_counts_rows_and_batches():
    oracle = lr.CountingOracle(FakeOracle(good))
    oracle(np.zeros((4, 3)))
    oracle(np.zeros(3))
    assert (oracle.queries, oracle.batches) == (5, 2)


def test_budget_refuses_a_batch_before_sending_it():
    calls = []

    def answer(W):
        calls.append(len(W))
        return good(W)

    oracle = lr.CountingOracle(FakeOracle(answer), budget=5)
    oracle(np.zeros((4, 3)))
    with pytest.raises(QueryBudgetExceeded, match="budget of 5 exceeded: 4 already spent"):
        oracle(np.zeros((2, 3)))
    assert calls == [4]
    assert oracle.remaining == 1
    assert isinstance(QueryBudgetExceeded(1, 1, 1), lr.LossreconError)


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        (lambda W: W.sum(), r"shape \(\)"),
        (lambda W: np.zeros((len(W), 2)), r"shape \(2, 2\)"),
        (lambda W: np.array([0.0, np.nan]), r"nan for row 1 of query batch 0"),
        (lambda W: np.array([np.inf, 1.0]), r"inf for row 0"),
        (lambda W: ["a", "b"], "not numbers"),
        (lambda W: None, "not numbers|shape"),
    ],
)
def test_bad_answers_raise_oracle_error(answer, message):
    oracle = lr.CountingOracle(FakeOracle(answer))
    with pytest.raises(OracleError, match=message):
        oracle(np.zeros((2, 3)))


def test_exception_inside_oracle_names_the_batch():
    def boom(W):
        raise RuntimeError("connection lost")

    oracle = lr.CountingOracle(FakeOracle(good))
    oracle(np.zeros((2, 3)))
    oracle.oracle = FakeOracle(boom)
    with pytest.raises(OracleError, match=r"RuntimeError on query batch 1 \(rows 2..3\)"):
        oracle(np.zeros((2, 3)))
    assert oracle.queries == 2


def test_wrong_query_shape_is_refused():
    oracle = lr.CountingOracle(FakeOracle(good))
    with pytest.raises(ConfigurationError, match=r"shape \(K, 3\)"):
        oracle(np.zeros((2, 4)))
    with pytest.raises(ConfigurationError, match="finite"):
        oracle(np.full((1, 3), np.nan))


@pytest.mark.parametrize("thing", [object(), FakeOracle(good, n_params=0), FakeOracle(good, "3")])
def test_non_oracles_are_refused(thing):
    with pytest.raises(OracleError):
        lr.CountingOracle(thing)


def test_reduction_is_passed_through():
    net = lr.ReLUNetwork([2, 2, 1])
    inner = lr.NumpyLossOracle(net, np.ones((1, 2)), np.ones((1, 1)), reduction="mean")
    assert lr.CountingOracle(inner).reduction == "mean"
    assert isinstance(inner, lr.LossOracle)


def test_overflow_passes_inf_through_only_when_asked():
    class Overflowing:
        n_params = 2

        def __call__(self, W):
            return np.where(W[:, 0] > 1.0, np.inf, W[:, 0])

    W = np.array([[0.5, 0.0], [2.0, 0.0]])
    with pytest.raises(OracleError, match="inf"):
        lr.CountingOracle(Overflowing())(W)
    assert np.array_equal(lr.CountingOracle(Overflowing(), overflow=True)(W), [0.5, np.inf])

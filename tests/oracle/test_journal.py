import warnings

import numpy as np
import pytest

import lossrecon as lr
from lossrecon.errors import ConfigurationError
from lossrecon.oracle import JournalOracle


class Crashing:
    """An oracle that dies after answering ``limit`` rows, as a lost client would."""

    def __init__(self, oracle, limit):
        self.oracle, self.limit, self.answered = oracle, limit, 0
        self.n_params, self.reduction, self.dtype = oracle.n_params, oracle.reduction, oracle.dtype

    def __call__(self, W):
        if self.answered + len(W) > self.limit:
            raise RuntimeError("connection lost")
        self.answered += len(W)
        return self.oracle(W)


@pytest.fixture
def target():
    data = lr.synthetic(15, 6, 2, random_state=4)
    oracle = lr.NumpyLossOracle(lr.ReLUNetwork([6, 5, 4, 2]), data.inputs, data.targets)
    return oracle, data


def attack(oracle):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return lr.attacks.chosen_weights(oracle, [6, 5, 4, 2], random_state=3)


def test_a_run_killed_midway_resumes_without_asking_again(target, tmp_path):
    oracle, data = target
    whole = attack(oracle)
    journal = tmp_path / "attack.journal"
    crashed = attack(JournalOracle(Crashing(oracle, whole.queries // 2), journal))
    assert crashed.stats.stopped == "oracle" and "connection lost" in crashed.stats.warnings[-1]
    counted = lr.CountingOracle(oracle)
    resumed_oracle = JournalOracle(counted, journal)
    resumed = attack(resumed_oracle)
    assert 0 < resumed_oracle.replayed <= whole.queries // 2
    assert counted.queries == whole.queries - resumed_oracle.replayed
    np.testing.assert_array_equal(resumed.inputs, whole.inputs)
    np.testing.assert_array_equal(resumed.targets, whole.targets)
    assert lr.evaluate(resumed, data.inputs, data.targets)["recall"] == 1.0


def test_a_record_cut_by_a_crash_is_dropped(target, tmp_path):
    oracle, _ = target
    journal = tmp_path / "attack.journal"
    first = JournalOracle(oracle, journal)
    W = np.ones((3, oracle.n_params))
    first(W)
    first(2 * W)
    size = journal.stat().st_size
    with journal.open("r+b") as handle:
        handle.truncate(size - 10)
    again = JournalOracle(oracle, journal)
    assert len(again.entries) == 1
    np.testing.assert_array_equal(again(W), oracle(W))
    assert again.replayed == 3


def test_a_journal_of_another_attack_is_refused(target, tmp_path):
    oracle, _ = target
    journal = tmp_path / "attack.journal"
    JournalOracle(oracle, journal)(np.ones((2, oracle.n_params)))
    with pytest.raises(ConfigurationError, match="differs from the journal"):
        JournalOracle(oracle, journal)(np.zeros((2, oracle.n_params)))


def test_a_journal_keeps_sixteen_bytes_a_query_not_the_weights(target, tmp_path):
    """What replay needs is each answer and a fingerprint of its query."""
    oracle, _ = target
    journal = tmp_path / "attack.journal"
    kept = JournalOracle(oracle, journal)
    rng = np.random.default_rng(0)
    for k in (1, 10, 100):
        kept(rng.normal(size=(k, oracle.n_params)))
    header = len(b"lossrecon journal 2\n")
    assert journal.stat().st_size == header + 3 * 4 + 111 * 16


def test_a_journal_of_the_first_format_is_refused_by_name(target, tmp_path):
    oracle, _ = target
    journal = tmp_path / "attack.journal"
    with journal.open("wb") as handle:  # the first format: the weight vectors themselves
        np.save(handle, np.ones((2, oracle.n_params)))
        np.save(handle, np.ones(2))
    with pytest.raises(ConfigurationError, match=r"first format.*start a new journal"):
        JournalOracle(oracle, journal)

import numpy as np
import pytest

import lossrecon as lr
from lossrecon.evaluation import distinct_samples


@pytest.fixture
def truth(rng):
    return rng.normal(size=(6, 4)), rng.normal(size=(6, 2))


def test_exact_permuted_reconstruction_is_perfect(truth):
    x, y = truth
    order = np.array([3, 0, 5, 1, 4, 2])
    rec = lr.Reconstruction(x[order], y[order], scale_known=True, queries=60)
    report = lr.evaluate(rec, x, y)
    assert report["recall"] == 1.0 and report["precision"] == 1.0
    assert report["input_rel_error_max"] == 0.0 and report["target_rel_error_max"] == 0.0
    assert report["queries_per_sample"] == 10.0
    assert report["floor_ratio"] == pytest.approx(60 / (6 * 5))


def test_rescaled_and_sign_flipped_count_when_scale_unknown(truth):
    x, _ = truth
    scales = np.array([2.0, -0.5, 3.0, -1.0, 1e-3, 7.0])[:, None]
    rec = lr.Reconstruction(x * scales, scale_known=False)
    report = lr.evaluate(rec, x)
    assert report["recall"] == 1.0
    assert report["input_rel_error_median"] is None


def test_rescaled_inputs_have_errors_when_scale_is_claimed(truth):
    x, y = truth
    rec = lr.Reconstruction(2 * x, y, scale_known=True)
    report = lr.evaluate(rec, x, y)
    assert report["recall"] == 1.0
    assert report["input_rel_error_median"] == pytest.approx(1.0)


def test_duplicates_and_zero_inputs_are_not_truth(truth):
    x, y = truth
    x_all = np.vstack([x, x[:2], np.zeros((3, 4))])
    y_all = np.vstack([y, y[:2] + 2.0, np.ones((3, 2))])
    report = lr.evaluate(lr.Reconstruction(x, scale_known=True), x_all, y_all)
    assert report["n_true"] == 6
    assert report["n_duplicates_merged"] == 2 and report["n_zero_inputs"] == 3
    assert report["recall"] == 1.0


def test_duplicate_labels_are_averaged(truth):
    x, y = truth
    merged = distinct_samples(np.vstack([x, x[:1]]), np.vstack([y, y[:1] + 2.0]), False)
    np.testing.assert_allclose(merged.targets[0], y[0] + 1.0)
    assert merged.multiplicity.tolist() == [2, 1, 1, 1, 1, 1]


def test_parallel_inputs_merge_only_up_to_scale(truth):
    x, _ = truth
    x_all = np.vstack([x, 3 * x[:1]])
    assert len(distinct_samples(x_all, None, up_to_scale=True).inputs) == 6
    assert len(distinct_samples(x_all, None, up_to_scale=False).inputs) == 7


def test_nearly_parallel_inputs_stay_distinct():
    a = np.array([1.0, 0.0])
    b = np.array([1.0, np.sqrt(2e-9)])
    assert len(distinct_samples(np.vstack([a, b]), None, up_to_scale=True).inputs) == 2


def test_garbage_lowers_precision_and_missing_lowers_recall(truth, rng):
    x, _ = truth
    rec = lr.Reconstruction(np.vstack([x[:3], rng.normal(size=(3, 4))]))
    report = lr.evaluate(rec, x)
    assert report["recall"] == pytest.approx(0.5)
    assert report["precision"] == pytest.approx(0.5)
    assert report["n_matched"] == 3


def test_match_is_one_to_one(truth):
    x, _ = truth
    rec = lr.Reconstruction(np.vstack([x[:1]] * 6))
    report = lr.evaluate(rec, x)
    assert report["n_matched"] == 1


def test_zero_labels_use_absolute_error(truth):
    x, _ = truth
    y = np.zeros((6, 2))
    rec = lr.Reconstruction(x, y + 1e-3, scale_known=True)
    assert lr.evaluate(rec, x, y)["target_rel_error_max"] == pytest.approx(np.sqrt(2) * 1e-3)


def test_empty_reconstruction(truth):
    x, _ = truth
    report = lr.evaluate(lr.Reconstruction(np.zeros((0, 4))), x)
    assert report["recall"] == 0.0 and report["precision"] is None


def test_feature_mismatch_is_refused(truth):
    x, _ = truth
    with pytest.raises(lr.ConfigurationError, match="features"):
        lr.evaluate(lr.Reconstruction(np.zeros((2, 3))), x)

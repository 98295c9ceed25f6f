"""Counting windows: packed counts decode digit by digit, or not at all."""

import numpy as np

from lossrecon.attacks.chosen.counts import decode_counts


def test_packed_counts_decode_digit_by_digit_or_not_at_all():
    weights, bounds = np.array([1.0, 3.0, 9.0]), [2, 2, 2]
    assert decode_counts(2 + 1 * 3 + 2 * 9 + 0.1, weights, bounds).tolist() == [2, 1, 2]
    assert decode_counts(9.5, weights, bounds) is None  # half a sample: a cut through one
    assert decode_counts(27.0, weights, bounds) is None  # more than its parent held

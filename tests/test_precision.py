import numpy as np
import pytest

from lossrecon.precision import ROUNDOFF, answer_resolution, decimal_digits, detect_dtype


@pytest.mark.parametrize("digits", [4, 6, 11, 13, 14])
def test_a_loss_rounded_to_k_digits_shows_k(digits, rng):
    values = rng.normal(size=8) * 10.0 ** rng.uniform(-3, 3, size=8)
    rounded = np.array([float(f"{v:.{digits - 1}e}") for v in values])
    assert decimal_digits(rounded) == digits


def test_plain_float64_answers_are_not_taken_for_rounded_ones(rng):
    values = rng.normal(size=(2000, 8)) * 10.0 ** rng.uniform(-3, 3, size=(2000, 8))
    assert all(decimal_digits(v) is None for v in values)


def test_half_precision_answers_resolve_to_their_own_roundoff_not_64_of_them(rng):
    x = rng.normal(size=16)
    assert detect_dtype(x.astype(np.float16).astype(float)) == "float16"
    assert answer_resolution("float16", None, 0.0) == 4 * ROUNDOFF["float16"]
    assert answer_resolution("float32", None, 0.0) == 64 * ROUNDOFF["float32"]

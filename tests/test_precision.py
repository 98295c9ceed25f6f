import numpy as np
import pytest

from lossrecon.precision import ROUNDOFF, AnswerModel, decimal_digits, detect_dtype, representable


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
    assert AnswerModel("float16").resolution == 2 * ROUNDOFF["float16"]
    assert AnswerModel("float32").resolution == 32 * ROUNDOFF["float32"]


@pytest.mark.parametrize("dtype", ["float64", "float32", "float16", "bfloat16"])
@pytest.mark.parametrize(("digits", "noise"), [(None, 0.0), (6, 0.0), (None, 1e-4), (4, 1e-3)])
def test_one_error_model_bounds_an_answer_and_says_what_a_difference_means(dtype, digits, noise):
    """Two answers each off by up to the error bound differ by up to twice it: the
    resolution is that, never a separate guess."""
    model = AnswerModel(dtype, digits, noise)
    assert model.error >= max(model.rounding, 4.0 * noise)
    assert model.resolution == 2.0 * model.error
    assert model.noisy == (noise > 0 and 4.0 * noise >= model.rounding)


@pytest.mark.parametrize("batches", [2, 5, 13])
def test_a_mean_of_float32_batch_losses_summed_in_float64_shows_float32(batches, rng):
    """A training loop's reported loss: each batch's loss a float32 number, their mean
    taken in Python (``loss += criterion(...).item()``, ``/ len(loader)``)."""
    per_batch = (rng.uniform(0.5, 3.0, size=(20, batches))).astype(np.float32)
    answers = per_batch.astype(np.float64).sum(1) / batches
    assert not representable(answers, "float32")
    assert detect_dtype(answers) == "float32"
    assert detect_dtype(rng.uniform(0.5, 3.0, size=20)) == "float64"
    assert detect_dtype(rng.uniform(0.5, 3.0, size=(2000, 20)).ravel()[:20] * 7) == "float64"

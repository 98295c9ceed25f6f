import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lossrecon.errors import ConfigurationError
from lossrecon.guard import Quantizer


@given(
    st.floats(allow_nan=False, allow_infinity=False, min_value=-1e6, max_value=1e6),
    st.integers(min_value=1, max_value=20),
)
def test_a_snapped_value_is_one_of_2_to_the_b_grid_points_within_half_a_step(
    value: float, bits: int
) -> None:
    grid = Quantizer(-3.0, 7.0, bits)
    snapped, clipped = grid.snap(value)
    step = (snapped - grid.low) / grid.resolution
    assert step == pytest.approx(round(step), abs=1e-6)
    assert 0 <= round(step) <= grid.levels - 1
    assert clipped == (not -3.0 <= value <= 7.0)
    if not clipped:
        assert abs(snapped - value) <= grid.resolution / 2 * (1 + 1e-9)


def test_values_outside_the_range_and_nan_are_clipped_not_raised() -> None:
    grid = Quantizer(0.0, 1.0, 8)
    assert grid.snap(5.0) == (1.0, True)
    assert grid.snap(-math.inf) == (0.0, True)
    assert grid.snap(math.nan) == (1.0, True)


@pytest.mark.parametrize(
    ("low", "high", "bits"), [(1.0, 1.0, 8), (0.0, math.inf, 8), (0.0, 1.0, 0), (0.0, 1.0, 53)]
)
def test_a_range_or_bit_count_that_cannot_hold_a_grid_is_refused(
    low: float, high: float, bits: int
) -> None:
    with pytest.raises(ConfigurationError):
        Quantizer(low, high, bits)

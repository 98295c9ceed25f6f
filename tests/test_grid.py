import numpy as np

from lossrecon.grid import detect_grid, snap


def test_digits_like_values_lie_on_sixteenths_and_snap_exactly(rng):
    exact = rng.integers(0, 17, size=(50, 64)) / 16
    read = exact + rng.normal(scale=1e-7, size=exact.shape)
    step = detect_grid(read)
    assert step == 1 / 16
    assert np.array_equal(snap(read, step), exact)


def test_a_wrong_grid_is_not_claimed(rng):
    assert detect_grid(rng.normal(size=(50, 8))) is None
    eighths = rng.integers(0, 9, size=100) / 8
    shifted = eighths + 1 / 32  # on a grid of 1/32, not of 1/8
    assert detect_grid(shifted) == 1 / 32

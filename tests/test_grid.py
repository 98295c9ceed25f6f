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


def test_error_bounds_widen_the_slack_and_a_few_misfits_are_left_as_read(rng):
    exact = rng.integers(0, 17, size=(200, 64)) / 16
    bounds = np.full(exact.shape, 4e-3)
    read = exact + rng.uniform(-4e-3, 4e-3, size=exact.shape)
    read[0, 0] += 0.02  # one number past its bound
    step = detect_grid(read, bounds)
    assert step == 1 / 16
    snapped = snap(read, step, bounds)
    assert snapped[0, 0] == read[0, 0]  # off its grid point by more than its bound
    assert np.sum(snapped != exact) == 1


def test_a_number_whose_bound_leaves_its_grid_point_in_doubt_is_not_snapped(rng):
    exact = rng.integers(0, 17, size=(40, 8)) / 16
    bounds = np.full(exact.shape, 1e-3)
    bounds[0] = 0.04  # more than half a step: two grid points are possible
    snapped = snap(exact + 1e-4, 1 / 16, bounds)
    assert np.all(snapped[0] == exact[0] + 1e-4) and np.array_equal(snapped[1:], exact[1:])


def test_bounds_do_not_make_random_data_look_quantized(rng):
    values = rng.normal(size=(100, 16))
    assert detect_grid(values, np.full(values.shape, 1e-6)) is None


def test_a_grid_of_255ths_snaps_to_the_very_numbers_the_data_hold(rng):
    exact = rng.integers(0, 256, size=(40, 49)) / 255
    read = exact + rng.normal(scale=1e-7, size=exact.shape)
    step = detect_grid(read)
    assert step == 1 / 255
    assert np.array_equal(snap(read, step), exact)

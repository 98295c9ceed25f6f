"""What an audit claims: "exactly" means equal to the data as it is held."""

import numpy as np

import lossrecon as lr
from lossrecon.audit.results import AuditResult, SplitResult, score
from lossrecon.reconstruction import RunStats


def reconstruction(inputs, targets, grid=None, bound=0.0):
    stats = RunStats(grid=grid, input_error_bounds=np.full(inputs.shape, bound))
    return lr.Reconstruction(inputs, targets, True, [inputs.shape[1], 4, 4, 3], 100, stats)


def audit(rec, truth):
    split = SplitResult("1", "evaluate", rec, 1.0, score=score(rec, *truth))
    return AuditResult({"kind": "torch"}, [split], truth=True)


def test_float32_pixels_read_exactly_on_their_grid_are_exact_as_float32():
    """The grid values k/255 in float64 differ from the float32 truth by up to 3e-8; at
    the precision the data is held in they are the data."""
    rng = np.random.default_rng(0)
    levels = rng.integers(0, 256, size=(6, 12))
    truth = (levels / 255.0).astype(np.float32), np.eye(3)[rng.integers(0, 3, 6)]
    rec = reconstruction(levels / 255.0, truth[1], grid=1 / 255)
    assert np.abs(rec.inputs - truth[0]).max() > 0  # not equal as float64 numbers
    found = audit(rec, truth)
    assert found.splits[0].score["exact"] == 1.0
    assert "every one exactly (equal to the data as held, in float32)" in found.verdict()


def test_data_on_no_grid_is_not_claimed_exact_the_bound_is_the_statement():
    rng = np.random.default_rng(1)
    truth = rng.normal(size=(6, 12)).astype(np.float32), np.eye(3)[rng.integers(0, 3, 6)]
    rec = reconstruction(truth[0].astype(np.float64) * (1 + 1e-7), truth[1], bound=1e-6)
    found = audit(rec, truth)
    assert found.splits[0].score["exact"] is None
    verdict = found.verdict()
    assert "exactly" not in verdict and "within its stated error bound" in verdict

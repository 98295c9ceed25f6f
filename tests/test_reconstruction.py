import numpy as np
import pytest

import lossrecon as lr
from lossrecon.errors import ConfigurationError


def test_save_load_round_trip(tmp_path, rng):
    rec = lr.Reconstruction(
        inputs=rng.normal(size=(5, 3)),
        targets=rng.normal(size=(5, 2)),
        scale_known=True,
        widths=[3, 4, 2],
        queries=123,
        metadata={"attack": "test", "residuals": [0.1, 0.2]},
    )
    loaded = lr.Reconstruction.load(rec.save(tmp_path / "rec.npz"))
    np.testing.assert_array_equal(loaded.inputs, rec.inputs)
    np.testing.assert_array_equal(loaded.targets, rec.targets)
    assert (loaded.scale_known, loaded.widths, loaded.queries) == (True, [3, 4, 2], 123)
    assert loaded.metadata == rec.metadata


def test_round_trip_without_targets(tmp_path):
    rec = lr.Reconstruction(inputs=np.eye(2))
    loaded = lr.Reconstruction.load(rec.save(tmp_path / "rec.npz"))
    assert loaded.targets is None and loaded.widths is None and not loaded.scale_known


def test_foreign_npz_is_refused(tmp_path):
    np.savez(tmp_path / "other.npz", x=np.zeros(2))
    with pytest.raises(ConfigurationError, match="not a lossrecon"):
        lr.Reconstruction.load(tmp_path / "other.npz")


def test_shapes_are_checked():
    with pytest.raises(ConfigurationError, match="2-D"):
        lr.Reconstruction(inputs=np.zeros(3))
    with pytest.raises(ConfigurationError, match="targets"):
        lr.Reconstruction(inputs=np.zeros((3, 2)), targets=np.zeros((2, 1)))

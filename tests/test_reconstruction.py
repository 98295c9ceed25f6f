import json

import numpy as np
import pytest

import lossrecon as lr
from lossrecon.errors import ConfigurationError
from lossrecon.reconstruction import RunStats


def test_save_load_round_trip(tmp_path, rng):
    rec = lr.Reconstruction(
        inputs=rng.normal(size=(5, 3)),
        targets=rng.normal(size=(5, 2)),
        scale_known=True,
        widths=[3, 4, 2],
        queries=123,
        stats=RunStats(attack="test", residuals=np.array([0.1, 0.2])),
    )
    loaded = lr.Reconstruction.load(rec.save(tmp_path / "rec.npz"))
    np.testing.assert_array_equal(loaded.inputs, rec.inputs)
    np.testing.assert_array_equal(loaded.targets, rec.targets)
    assert (loaded.scale_known, loaded.widths, loaded.queries) == (True, [3, 4, 2], 123)
    assert loaded.stats.attack == "test"
    np.testing.assert_array_equal(loaded.stats.residuals, [0.1, 0.2])


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


def test_a_format_1_file_is_read_into_typed_statistics(tmp_path):
    header = {
        "format": "lossrecon.Reconstruction/1",
        "scale_known": False,
        "widths": [3, 2, 1],
        "queries": 7,
        "metadata": {"attack": "blind", "queries_inputs": 5, "unexplained": 2, "odd": 1},
    }
    path = tmp_path / "old.npz"
    np.savez(path, inputs=np.ones((1, 3)), header=np.array(json.dumps(header)))
    rec = lr.Reconstruction.load(path)
    assert rec.stats.attack == "blind" and rec.stats.unexplained_kinks == 2
    assert rec.stats.queries_by_phase == {"inputs": 5}


def test_another_format_is_refused_by_version(tmp_path):
    header = {"format": "lossrecon.Reconstruction/9"}
    path = tmp_path / "new.npz"
    np.savez(path, inputs=np.ones((1, 3)), header=np.array(json.dumps(header)))
    with pytest.raises(ConfigurationError, match="Reconstruction/9"):
        lr.Reconstruction.load(path)

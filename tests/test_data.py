import numpy as np
import pytest

import lossrecon as lr
from lossrecon.data import dataset_names


@pytest.mark.parametrize("name", dataset_names())
def test_builtin_datasets_load_offline(name):
    data = lr.load_dataset(name)
    assert data.inputs.ndim == 2 and data.targets.ndim == 2
    assert len(data.inputs) == len(data.targets) > 100
    assert np.isfinite(data.inputs).all()


def test_digits_are_one_hot():
    data = lr.load_dataset("digits", n_samples=50, random_state=1)
    assert data.inputs.shape == (50, 64) and data.targets.shape == (50, 10)
    np.testing.assert_array_equal(data.targets.sum(1), 1.0)


def test_subsets_and_synthetic_are_seeded():
    a = lr.load_dataset("diabetes", n_samples=20, random_state=3)
    b = lr.load_dataset("diabetes", n_samples=20, random_state=3)
    np.testing.assert_array_equal(a.inputs, b.inputs)
    s = lr.synthetic(10, 5, 2, random_state=4)
    np.testing.assert_array_equal(s.inputs, lr.synthetic(10, 5, 2, random_state=4).inputs)
    assert s.targets.shape == (10, 2)


def test_unknown_dataset_is_refused():
    with pytest.raises(lr.ConfigurationError, match="unknown data set"):
        lr.load_dataset("mnist")

import numpy as np
import pytest
import torch
from torch.nn.utils import parameters_to_vector

from lossrecon.errors import ConfigurationError
from lossrecon.layout import Layout


@pytest.mark.parametrize("bias", [True, False])
def test_arrays_are_a_state_dict_s_values_in_its_order(bias):
    torch.manual_seed(0)
    model = torch.nn.Sequential(
        torch.nn.Linear(5, 4, bias=bias), torch.nn.ReLU(), torch.nn.Linear(4, 3, bias=bias)
    )
    w = parameters_to_vector(model.parameters()).detach().double().numpy()
    arrays = Layout((5, 4, 3), bias=bias).arrays(w)
    state = list(model.state_dict().values())
    assert len(arrays) == len(state) == (4 if bias else 2)
    for got, expected in zip(arrays, state, strict=True):
        np.testing.assert_array_equal(got, expected.double().numpy())


@pytest.mark.parametrize("bias", [True, False])
def test_entry_and_bias_indices_address_the_unflattened_layers(bias, rng):
    layout = Layout((5, 4, 3, 2), bias=bias)
    w = rng.normal(size=layout.n_params)
    layers = layout.unflatten(w)
    rows, cols = np.array([[0], [2]]), np.array([[1, 3]])
    for k, (matrix, vector) in enumerate(layers):
        r, c = rows % matrix.shape[0], cols % matrix.shape[1]
        np.testing.assert_array_equal(w[layout.entry_indices(k, r, c)], matrix[r, c])
        if bias:
            np.testing.assert_array_equal(w[layout.bias_indices(k, r)], vector[r])
    if not bias:
        with pytest.raises(ConfigurationError, match="no bias"):
            layout.bias_indices(0, [0])

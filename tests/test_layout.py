import numpy as np
import pytest
import torch
from torch.nn.utils import parameters_to_vector

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

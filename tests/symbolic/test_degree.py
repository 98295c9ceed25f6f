import pytest
import sympy
from hypothesis import given, settings
from hypothesis import strategies as st

from lossrecon import symbolic
from lossrecon.errors import ConfigurationError


def test_figure_2_weight_degrees():
    weights = symbolic.weight_symbols([2, 2, 1])
    degrees = [symbolic.layerwise_degree(w, [2, 2, 1]) for w in weights]
    assert degrees == [(1, 0)] * 4 + [(0, 1)] * 2


def test_inhomogeneous_and_zero_polynomials():
    w1, _, _, _, w5, _ = symbolic.weight_symbols([2, 2, 1])
    assert not symbolic.is_homogeneous(w1 + w5, [2, 2, 1])
    assert symbolic.is_homogeneous(sympy.Integer(0), [2, 2, 1])
    with pytest.raises(ConfigurationError, match="zero polynomial"):
        symbolic.layerwise_degree(sympy.Integer(0), [2, 2, 1])
    with pytest.raises(ConfigurationError, match="degrees"):
        symbolic.layerwise_degree(w1 + w5, [2, 2, 1])


@settings(max_examples=25, deadline=None)
@given(widths=st.lists(st.integers(1, 3), min_size=2, max_size=4), data=st.data())
def test_theorem_2_6_every_virtual_polynomial_is_homogeneous(widths, data):
    """Thm 2.6: a nonzero virtual polynomial of type (i, k) has degree (1,..,1,0,..,0)."""
    k = data.draw(st.integers(2, len(widths)), label="layer")
    i = data.draw(st.integers(1, widths[k - 1]), label="node")
    for poly in symbolic.virtual_polynomials(widths, (i, k)):
        if poly != 0:
            assert symbolic.layerwise_degree(poly, widths) == symbolic.expected_degree(widths, k)

import sympy
from hypothesis import given, settings
from hypothesis import strategies as st

from lossrecon import symbolic


def test_figure_3_factorization_is_exact():
    w = sympy.symbols("ω1:11", real=True)
    x1, x2 = sympy.symbols("x1:3", real=True)
    widths = [2, 2, 1, 2, 1]
    all_active = next(symbolic.all_activation_sets(widths))
    u = symbolic.virtual_polynomial(widths, (1, 5), all_active)
    first = w[0] * w[4] * x1 + w[1] * w[5] * x1 + w[2] * w[4] * x2 + w[3] * w[5] * x2
    second = w[6] * w[8] + w[7] * w[9]
    assert sympy.expand(u - first * second) == 0
    for backend in ("flint", "sympy"):
        result = symbolic.factor(u, backend)
        assert result.constant == 1
        assert {symbolic.canonical(f) for f, _ in result.factors} == {
            symbolic.canonical(first),
            symbolic.canonical(second),
        }
    check = symbolic.check_theorem_2_8(widths, all_active, (1, 5))
    assert check.agrees
    assert symbolic.p_active_network(widths, all_active, (1, 5)) == [
        [1, 2],
        [1, 2],
        [1],
        [1, 2],
        [1],
    ]


ACTIVATIONS = [("relu", 1), ("leaky_relu", 1), ("lwta", 2)]


@settings(max_examples=20, deadline=None)
@given(
    choice=st.sampled_from(ACTIVATIONS),
    sizes=st.lists(st.integers(1, 2), min_size=2, max_size=3),
    n=st.integers(1, 3),
    numeric=st.booleans(),
)
def test_theorem_2_8_over_every_activation_set(choice, sizes, n, numeric):
    """Thm 2.8 as read in lossrecon.symbolic.factorization, over every activation set."""
    name, step = choice
    widths = [n, *(step * s for s in sizes[:-1]), 1]
    inputs = [3, -2, 5][:n] if numeric else None
    for aset in symbolic.all_activation_sets(widths, activation=name):
        check = symbolic.check_theorem_2_8(widths, aset, (1, len(widths)), inputs, name)
        assert check.agrees, (widths, name, str(aset), check)


def test_theorem_2_8_reading_one_symbolic_input_splits_off():
    """With n = 1 the input x1 is a factor: the theorem holds only if the input layer
    counts among the single-node layers (the paper does not say)."""
    aset = next(symbolic.all_activation_sets([1, 2, 1]))
    check = symbolic.check_theorem_2_8([1, 2, 1], aset, (1, 3))
    x1 = sympy.Symbol("x1", real=True)
    assert x1 in [f for f, _ in check.computed.factors]
    assert check.agrees


def test_backends_agree_on_random_networks():
    widths = [2, 3, 2, 1]
    for aset in list(symbolic.all_activation_sets(widths))[:20]:
        poly = symbolic.virtual_polynomial(widths, (1, 4), aset, inputs=[2, -3])
        if poly == 0:
            continue
        flint_factors = symbolic.factor(poly, "flint")
        sympy_factors = symbolic.factor(poly, "sympy")
        assert sympy.expand(flint_factors.expand() - poly) == 0
        assert {symbolic.canonical(f) for f, _ in flint_factors.factors} == {
            symbolic.canonical(f) for f, _ in sympy_factors.factors
        }

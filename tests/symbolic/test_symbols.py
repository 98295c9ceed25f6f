import numpy as np
import sympy

import lossrecon as lr
from lossrecon import symbolic


def test_weight_symbols_are_named_as_in_the_paper():
    names = [s.name for s in symbolic.weight_symbols([2, 2, 1])]
    assert names == ["ω1", "ω2", "ω3", "ω4", "ω5", "ω6"]


def test_figure_2_reads_source_outer_target_inner():
    w1, w2, w3, w4, w5, w6 = symbolic.weight_symbols([2, 2, 1])
    first, second = symbolic.layer_symbol_matrices([2, 2, 1])
    assert first == sympy.Matrix([[w1, w3], [w2, w4]])
    assert second == sympy.Matrix([[w5, w6]])


def test_paper_order_maps_onto_the_flat_weight_vector(rng):
    net = lr.ReLUNetwork([3, 2, 2])
    w = rng.normal(size=net.n_params)
    substitution = symbolic.weights_as_substitution(net, w)
    for symbolic_matrix, (numeric, _) in zip(
        symbolic.layer_symbol_matrices(net.widths), net.unflatten(w), strict=True
    ):
        np.testing.assert_array_equal(
            np.array(symbolic_matrix.subs(substitution), dtype=float), numeric
        )

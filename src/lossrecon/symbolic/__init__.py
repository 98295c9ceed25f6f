"""The paper's mathematics, executable: virtual polynomials, layer-wise degree,
factorization (Thm 2.8), loss-surface pieces and Sing(X).

    from lossrecon import symbolic
    symbolic.virtual_polynomials([2, 2, 1], node=(1, 3))
    symbolic.weight_symbols([2, 2, 1])
"""

from lossrecon.symbolic.activation_sets import ActivationSet, all_activation_sets, from_patterns
from lossrecon.symbolic.degree import (
    expected_degree,
    is_homogeneous,
    layerwise_degree,
    monomial_degrees,
)
from lossrecon.symbolic.factorization import (
    Factorization,
    FactorizationCheck,
    canonical,
    check_theorem_2_8,
    factor,
    p_active_network,
    predicted_factors,
)
from lossrecon.symbolic.loss_surface import (
    LossPiece,
    SingComponent,
    SingPolynomial,
    exact,
    loss_piece,
    output_polynomials,
    sing_components,
    sing_defining_polynomials,
)
from lossrecon.symbolic.one_dimensional import Piece1D, kinks, recover_samples, relu_least_squares
from lossrecon.symbolic.symbols import (
    input_symbols,
    layer_symbol_matrices,
    paper_to_flat,
    weight_symbols,
    weights_as_substitution,
)
from lossrecon.symbolic.virtual import (
    boundary_polynomials,
    layer_pre_activations,
    virtual_polynomial,
    virtual_polynomials,
)

__all__ = [
    "ActivationSet",
    "Factorization",
    "FactorizationCheck",
    "LossPiece",
    "Piece1D",
    "SingComponent",
    "SingPolynomial",
    "all_activation_sets",
    "boundary_polynomials",
    "canonical",
    "check_theorem_2_8",
    "exact",
    "expected_degree",
    "factor",
    "from_patterns",
    "input_symbols",
    "is_homogeneous",
    "kinks",
    "layer_pre_activations",
    "layer_symbol_matrices",
    "layerwise_degree",
    "loss_piece",
    "monomial_degrees",
    "output_polynomials",
    "p_active_network",
    "paper_to_flat",
    "predicted_factors",
    "recover_samples",
    "relu_least_squares",
    "sing_components",
    "sing_defining_polynomials",
    "virtual_polynomial",
    "virtual_polynomials",
    "weight_symbols",
    "weights_as_substitution",
]

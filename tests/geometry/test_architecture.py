import numpy as np
import pytest

import lossrecon as lr
from lossrecon.geometry import (
    candidate_layouts,
    explain_kink,
    node_gradient,
    sample_free,
    weight_hyperplanes,
)


def kink(widths, rng, layer, node):
    """A random weight vector moved onto unit (layer, node)'s zero set for a random
    input, and ∇z there (the normal up to the jump factor): (point, normal, input)."""
    net = lr.ReLUNetwork(widths)
    while True:
        w = rng.normal(size=net.n_params)
        a = rng.normal(size=widths[0])
        matrices = [m for m, _ in net.unflatten(w)]
        h = a
        for matrix in matrices[: layer - 1]:
            h = np.maximum(matrix @ h, 0.0)
        if h.max() <= 0:
            continue
        j = int(np.argmax(h))
        row = matrices[layer - 1][node]
        row[j] -= (row @ h) / h[j]  # a view into w: now z = 0 for unit (layer, node)
        grad = node_gradient(widths, w, a, layer, node)
        if np.count_nonzero(grad) > 1:
            return w, grad, a


def evidence(widths, rng, per_node=1):
    """Kinks at every unit of every hidden layer."""
    points, normals, inputs = [], [], []
    for layer in range(1, len(widths) - 1):
        for node in range(widths[layer]):
            for _ in range(per_node):
                w, grad, a = kink(widths, rng, layer, node)
                points.append(w)
                normals.append(grad * rng.uniform(-3, 3))
                inputs.append(a)
    return np.array(points), np.array(normals), np.array(inputs)


@pytest.mark.parametrize(
    "widths", [[8, 6, 4, 1], [16, 8, 8, 1], [32, 16, 8, 4, 2], [5, 3, 7, 4, 1], [3, 9, 4, 2]]
)
def test_the_true_layout_is_the_only_one_explaining_kinks_at_every_unit(widths, rng):
    points, normals, _ = evidence(widths, rng)
    assert candidate_layouts(points, normals) == [widths]


def test_explanation_names_the_unit_and_the_input_up_to_scale(rng):
    widths = [6, 5, 4, 2]
    for layer, node in [(1, 3), (2, 0), (2, 3)]:
        w, grad, a = kink(widths, rng, layer, node)
        explanation = explain_kink(widths, w, -2.5 * grad)
        assert (explanation.layer, explanation.node) == (layer, node)
        assert abs(explanation.direction @ a) / np.linalg.norm(a) == pytest.approx(1.0, abs=1e-12)
        assert explanation.oriented == (layer > 1)
        if explanation.oriented:
            assert explanation.direction @ a > 0


def test_a_small_output_layer_can_hide_a_hidden_layer(rng):
    """No kink ever lies on the output layer, so its d_{L-1} d_L weights may also be read
    as one more hidden layer and a smaller output when they are enough for both: Sing(X)
    cannot tell [.., 2, 3] from [.., 2, 2, 1]. (The blind attack asks the loss itself.)"""
    points, normals, _ = evidence([5, 3, 7, 2, 3], rng)
    assert candidate_layouts(points, normals) == [[5, 3, 7, 2, 3], [5, 3, 7, 2, 2, 1]]


def test_first_layer_kinks_alone_leave_the_deeper_layers_open(rng):
    """With one hidden layer every kink is a first-layer hyperplane and nothing bounds
    what follows the first layer: the widest reading comes first, many others fit too."""
    widths = [4, 6, 2]
    points, normals, _ = evidence(widths, rng)
    layouts = candidate_layouts(points, normals)
    assert layouts[0] == widths
    assert len(layouts) > 1
    assert all(layout[:2] in ([4, 6], [4, 5], [4, 4], [4, 3], [4, 2]) for layout in layouts)


def test_weight_hyperplanes_are_flagged_and_skipped(rng):
    widths = [8, 6, 4, 1]
    points, normals, _ = evidence(widths, rng)
    axis = np.zeros(normals.shape[1])
    axis[60] = 4.0
    unit = np.vstack([normals, axis])
    unit /= np.linalg.norm(unit, axis=1, keepdims=True)
    flagged = weight_hyperplanes(unit, np.full(len(unit), 1e-7))
    assert flagged.tolist() == [False] * len(normals) + [True]
    with_axis = candidate_layouts(np.vstack([points, points[:1]]), np.vstack([normals, axis]))
    assert with_axis == [widths]


def test_sample_free_components_carry_no_input_but_do_not_block_the_layout(rng):
    """Where a sample has one live unit in a layer, a deeper unit's pre-activation factors
    into that unit's value times a polynomial in deeper weights only (Thm 2.8); crossing
    the latter's zero set is a kink whose normal has no first-layer part (Prop. 2.9)."""
    widths = [5, 3, 7, 2, 3]
    net = lr.ReLUNetwork(widths)
    w = rng.normal(size=net.n_params)
    matrices = [m for m, _ in net.unflatten(w)]
    a = np.linalg.pinv(matrices[0]) @ np.array([1.0, -1.0, -1.0])  # one live first unit
    h = np.maximum(matrices[1] @ np.maximum(matrices[0] @ a, 0), 0)
    j = int(np.argmax(h))
    matrices[2][0, j] -= (matrices[2][0] @ h) / h[j]
    grad = node_gradient(widths, w, a, 3, 0)
    assert sample_free(widths, grad / np.linalg.norm(grad))
    points, normals, _ = evidence(widths, rng)
    layouts = candidate_layouts(np.vstack([points, w]), np.vstack([normals, grad]))
    assert widths in layouts
    assert layouts == candidate_layouts(points, normals)


def test_normals_of_no_relu_network_fit_no_layout(rng):
    points = rng.normal(size=(6, 76))
    assert candidate_layouts(points, rng.normal(size=(6, 76))) == []

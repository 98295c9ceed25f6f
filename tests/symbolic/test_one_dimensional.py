import itertools

import sympy

from lossrecon import symbolic
from lossrecon.symbolic.one_dimensional import a


def test_kinks_are_at_y_over_x():
    assert symbolic.kinks([2, -1, 3, 0], [4, 1, 3, 5]) == [-1, 1, 2]


def test_pieces_match_h_and_it_is_c1():
    xs, ys = [2, -1, 3], [4, 1, 3]
    pieces = symbolic.relu_least_squares(xs, ys)
    h = sum(sympy.Max(0, y - a * x) ** 2 for x, y in zip(xs, ys, strict=True))
    for piece in pieces:
        lo = piece.lower if piece.lower != -sympy.oo else piece.upper - 3
        hi = piece.upper if piece.upper != sympy.oo else piece.lower + 3
        for t in (lo + (hi - lo) / 3, lo + 2 * (hi - lo) / 3):
            assert piece.poly.subs(a, t) == h.subs(a, t)
    for left, right in itertools.pairwise(pieces):
        at = left.upper
        assert left.poly.subs(a, at) == right.poly.subs(a, at)
        assert sympy.diff(left.poly, a).subs(a, at) == sympy.diff(right.poly, a).subs(a, at)
        assert sympy.diff(left.poly, a, 2) != sympy.diff(right.poly, a, 2)


def test_samples_come_back_exactly_not_just_up_to_scale():
    xs, ys = [2, -1, 3], [4, 1, 3]
    recovered = symbolic.recover_samples(symbolic.relu_least_squares(xs, ys))
    assert sorted(recovered) == sorted(zip(xs, ys, strict=True))


def test_a_shared_kink_merges_samples():
    recovered = symbolic.recover_samples(symbolic.relu_least_squares([1, 2], [1, 2]))
    assert recovered == [(sympy.sqrt(5), sympy.sqrt(5))]

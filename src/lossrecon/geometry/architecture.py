"""Which layer widths explain a set of kink normals: Theorem 2.11's induction, numerically.

At a kink where node k of hidden layer l has pre-activation z = 0 for an input a, the
gradient of E jumps by G ∇_w z (G a scalar). Back-propagation says what ∇_w z looks like
for a bias-free ReLU network of widths [d_0, ..., d_L] (weights in PyTorch order):

- in every layer m <= l, its block (d_m, d_{m-1}) is the outer product δ^(m) h^(m-1)ᵀ,
  where h^(0) = a and h^(m-1) is the post-activation of layer m - 1 at the kink's
  weights; rows of inactive nodes are 0, every other row is parallel to h^(m-1);
- in layer l only row k is nonzero, and z_k = 0 there; deeper layers are 0.

So the first block's rows give a up to scale, the forward pass at the kink point then
predicts every later block, and a wrong width misaligns the rows at once. The search
walks the weight vector layer by layer and keeps the widths under which every normal
has this shape; the final check compares each normal with the predicted gradient.

Hidden widths below ``min_width`` are not searched: a width-1 layer makes its successor's
rows scalars, which fit anything. The output layer never kinks, so a last stretch of
the weight vector touched by no normal is split every way the parameter count allows;
wider layers are tried first, so that a search cut at ``limit`` keeps the layouts with
few, wide layers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from lossrecon.activations import ReLU
from lossrecon.layout import Layout, pre_activations

__all__ = [
    "Explanation",
    "candidate_layouts",
    "explain_kink",
    "node_gradient",
    "normal_accuracy",
    "sample_free",
    "weight_hyperplanes",
]

# A row this far from its line (in units of the normal's norm) still fits, or this many
# times the normal's estimated relative error when that is larger.
_TOL = 1e-7
_NOISE_FACTOR = 30.0
_ROUGH = 1e-3  # the same, for a first guess from a faint row
_ZERO_PRE_ACTIVATION = 1e-6  # |z| relative to |row| |h| that counts as z = 0 (or the tol)
_LIMIT = 64  # layouts returned at most


@dataclass(frozen=True)
class Explanation:
    """How a layout explains one kink.

    ``layer`` (1 = first hidden layer) and ``node`` locate the unit whose pre-activation
    vanishes; ``direction`` (n,) is the input up to scale, unit length, oriented as the
    input itself when ``oriented`` (a first-layer kink looks the same for a and -a);
    ``misfit`` is 1 - |cos| between the normal and the predicted gradient.
    """

    layer: int
    node: int
    direction: np.ndarray
    oriented: bool
    misfit: float


_RELU = ReLU()


def _matrices(widths: list[int], w: np.ndarray) -> list[np.ndarray]:
    """The weight matrices of a bias-free network of these widths in w (a prefix of it)."""
    layout = Layout(tuple(widths))
    return [matrix for matrix, _ in layout.unflatten(w[: layout.n_params])]


def _hidden(widths: list[int], w: np.ndarray, x: np.ndarray) -> tuple[list[Any], list[Any]]:
    """Pre- and post-activations of the hidden layers for input x (n,)."""
    zs = [z[0, 0] for z in pre_activations(Layout(tuple(widths)), _RELU, w[None], x[None])[:-1]]
    return zs, [x, *(_RELU.apply(z) for z in zs)]


def node_gradient(
    widths: list[int], w: np.ndarray, x: np.ndarray, layer: int, node: int
) -> np.ndarray:
    """∇_w of the pre-activation of ``node`` in hidden ``layer`` (1-based) at input x: (N,)."""
    matrices = _matrices(widths, w)
    zs, hs = _hidden(widths, w, x)
    grads = [np.zeros_like(m) for m in matrices]
    delta = np.zeros(widths[layer])
    delta[node] = 1.0
    for m in range(layer, 0, -1):
        grads[m - 1] = np.outer(delta, hs[m - 1])
        if m > 1:
            delta = (matrices[m - 1].T @ delta) * _RELU.pattern(zs[m - 2])
    return np.concatenate([g.ravel() for g in grads])


def explain_kink(
    widths: list[int], point: np.ndarray, normal: np.ndarray, *, tol: float = _TOL
) -> Explanation | None:
    """The unit whose kink ``normal`` (N,) is at ``point`` (N,) under ``widths``, if any.

    ``tol`` is the normal's relative accuracy. The input direction is the first block's
    dominant row direction; both of its signs are tried, and every hidden unit at z = 0
    is compared with the normal (1 - |cos| must stay below tol²).
    """
    first = _matrices(widths, normal)[0]
    _, sv, vt = np.linalg.svd(first, full_matrices=False)
    if sv[0] == 0 or (len(sv) > 1 and sv[1] > tol * sv[0]):
        return None
    direction = vt[0]
    matrices = _matrices(widths, point)
    unit = normal / np.linalg.norm(normal)
    best: Explanation | None = None
    for sign in (1.0, -1.0):
        zs, hs = _hidden(widths, point, sign * direction)
        for layer, z in enumerate(zs, start=1):
            scale = np.linalg.norm(matrices[layer - 1], axis=1) * np.linalg.norm(hs[layer - 1])
            at_zero = np.abs(z) <= max(_ZERO_PRE_ACTIVATION, tol) * scale
            for node in np.flatnonzero(at_zero):
                grad = node_gradient(widths, point, sign * direction, layer, int(node))
                misfit = 1.0 - abs(grad @ unit) / max(np.linalg.norm(grad), 1e-300)
                if best is None or misfit < best.misfit:
                    best = Explanation(layer, int(node), sign * direction, layer > 1, misfit)
    return best if best is not None and best.misfit <= max(tol * tol, 1e-14) else None


@dataclass
class _Search:
    points: np.ndarray  # (K, N)
    normals: np.ndarray  # (K, N), unit length
    tol: np.ndarray  # (K,) how far a row of each normal may be from its line
    min_width: int
    found: list[list[int]]
    limit: int

    @property
    def n_params(self) -> int:
        return self.normals.shape[1]

    def rest_is_zero(self, offset: int) -> np.ndarray:
        return np.linalg.norm(self.normals[:, offset:], axis=1) <= self.tol

    def run(self) -> None:
        for d0 in range(2, self.n_params // 2 + 1):
            self.first_layer(d0)
            if len(self.found) >= self.limit:
                return

    def first_layer(self, d0: int) -> None:
        """Try input dimension d0: rows of the first block parallel to one direction a."""
        n_rows = self.n_params // d0
        rows = self.normals[:, : n_rows * d0].reshape(len(self.normals), n_rows, d0)
        norms = np.linalg.norm(rows, axis=2)
        nonzero = norms > self.tol[:, None]
        if not nonzero.any(1).all():
            return
        first = nonzero.argmax(1)
        a = _unit_rows(rows[np.arange(len(rows)), first])
        # A faint first row gives a rough direction: take the strongest row of the stretch
        # it roughly fits, and measure the fit again with that.
        rough_tol = np.maximum(self.tol, _ROUGH)
        rough = _leading(_fitting_rows(rows, a[:, None, :], rough_tol) | ~nonzero)
        strongest = np.where(np.arange(n_rows)[None, :] < rough[:, None], norms, -1.0).argmax(1)
        a = _unit_rows(rows[np.arange(len(rows)), strongest])
        lead = _leading(_fitting_rows(rows, a[:, None, :], self.tol) | ~nonzero)
        for d1 in range(min(lead.min(), (self.n_params - 1) // d0), self.min_width - 1, -1):
            offset = d0 * d1
            # A kink with a zero first block lies on a sample-free component (Prop. 2.9:
            # a factor of a virtual polynomial without the input); it says nothing here.
            free = first >= d1
            if free.all():
                continue
            done = self.rest_is_zero(offset) | free
            single = nonzero[:, :d1].sum(1) == 1
            if not (single | ~done | free).all():
                continue
            topped = np.flatnonzero(done & ~free)
            row = self.points[topped[:, None], first[topped, None] * d0 + np.arange(d0)]
            z = np.einsum("kj,kj->k", row, a[topped])
            zero_level = np.maximum(_ZERO_PRE_ACTIVATION, self.tol[topped])
            if np.any(np.abs(z) > zero_level * np.linalg.norm(row, axis=1)):
                continue
            signs = np.ones((len(a), 2), dtype=bool)
            self.deeper([d0, d1], offset, a, signs, done)
            if len(self.found) >= self.limit:
                return

    def deeper(
        self, widths: list[int], offset: int, a: np.ndarray, signs: np.ndarray, done: np.ndarray
    ) -> None:
        """Extend a layout whose chunks end at ``offset`` by one more layer."""
        if len(self.found) >= self.limit:
            return
        width_in = widths[-1]
        remaining = self.n_params - offset
        if done.all() and remaining % width_in == 0:
            self.found.append([*widths, remaining // width_in])
        if done.all() and remaining < width_in * (self.min_width + 1):
            return
        n_rows = remaining // width_in
        rows = self.normals[:, offset : offset + n_rows * width_in].reshape(-1, n_rows, width_in)
        norms = np.linalg.norm(rows, axis=2)
        nonzero = norms > self.tol[:, None]
        weights = self.points[:, offset : offset + n_rows * width_in].reshape(-1, n_rows, width_in)
        lead = np.zeros((len(a), 2), dtype=int)
        zero_row = np.zeros((len(a), 2, n_rows), dtype=bool)
        for s, sign in enumerate((1.0, -1.0)):
            h = self.post_activations(widths, sign * a)  # (K, width_in)
            length = np.linalg.norm(h, axis=1, keepdims=True)
            unit_h = np.divide(h, length, out=np.zeros_like(h), where=length > 0)
            z = np.einsum("krj,kj->kr", weights, h)
            scale = np.linalg.norm(weights, axis=2) * length
            zero_level = np.maximum(_ZERO_PRE_ACTIVATION, self.tol)[:, None] * scale
            active = z >= -zero_level
            fit = (_fitting_rows(rows, unit_h[:, None, :], self.tol) & active) | ~nonzero
            lead[:, s] = np.where(signs[:, s] & ~done, _leading(fit), 0)
            lead[done, s] = n_rows
            zero_row[:, s] = np.abs(z) <= zero_level
        reach = lead.max(1)
        for width in range(min(reach.min(), (remaining - 1) // width_in), self.min_width - 1, -1):
            end = offset + width * width_in
            viable = signs & (lead >= width)
            now_done = done | self.rest_is_zero(end)
            topped = now_done & ~done
            if np.any(~done & ~now_done & ~nonzero[:, :width].any(1)):
                continue
            if np.any(topped & (nonzero[:, :width].sum(1) != 1)):
                continue
            top_row = nonzero[:, :width].argmax(1)
            at_zero = zero_row[np.arange(len(a))[:, None], np.arange(2)[None, :], top_row[:, None]]
            viable = np.where(topped[:, None], viable & at_zero, viable)
            if not viable[~done].any(1).all():
                continue
            self.deeper([*widths, width], end, a, viable, now_done)
            if len(self.found) >= self.limit:
                return

    def post_activations(self, widths: list[int], x: np.ndarray) -> np.ndarray:
        """h^(m-1) for each kink's input x (K, n) at its own point, m = len(widths)."""
        layout = Layout(tuple(widths))
        points = self.points[:, : layout.n_params]
        return _RELU.apply(pre_activations(layout, _RELU, points, x[:, None, :])[-1][:, 0])


def _fitting_rows(rows: np.ndarray, unit: np.ndarray, tol: np.ndarray) -> np.ndarray:
    """Rows (K, R, L) within tol (K,) of the line through the unit vectors (K, 1, L)."""
    along = np.einsum("krl,kxl->kr", rows, unit)
    return np.linalg.norm(rows - along[:, :, None] * unit, axis=2) <= tol[:, None]


def _unit_rows(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def _leading(ok: np.ndarray) -> np.ndarray:
    """How many leading entries of each row of a boolean (K, R) array are True."""
    return np.where(ok.all(1), ok.shape[1], (~ok).argmax(1))


def normal_accuracy(normals: np.ndarray, errors: np.ndarray | None) -> np.ndarray:
    """Relative accuracy of each normal (K, N) given entry errors (K, N): the tolerance
    the layout tests use for it, never below _TOL."""
    if errors is None:
        return np.full(len(normals), _TOL)
    relative = np.linalg.norm(errors, axis=1) / np.linalg.norm(normals, axis=1)
    return np.maximum(_TOL, _NOISE_FACTOR * relative)


def weight_hyperplanes(normals: np.ndarray, tol: np.ndarray) -> np.ndarray:
    """Which unit normals (K, N) point along one coordinate axis (within tol (K,)).

    Cor. 2.10's other linear components: where a unit's only live input passes through
    one weight, its pre-activation crosses zero with that weight, whatever the samples.
    """
    return np.sqrt(np.maximum(1.0 - np.abs(normals).max(1) ** 2, 0.0)) <= tol


def candidate_layouts(
    points: np.ndarray,
    normals: np.ndarray,
    errors: np.ndarray | None = None,
    *,
    min_width: int = 2,
    limit: int = _LIMIT,
) -> list[list[int]]:
    """Every layout [n, h1, ..., d_out] of N = points.shape[1] weights that explains all
    kinks, each given by its point (K, N) and gradient jump (K, N) with estimated entry
    errors (K, N); at most ``limit`` layouts.

    Hidden widths and n are at least ``min_width``. Each returned layout also passes
    :func:`explain_kink` for every kink, except kinks on a weight hyperplane or another
    sample-free component (which carry no input and constrain only the support).
    """
    points = np.asarray(points, dtype=float)
    normals = np.asarray(normals, dtype=float)
    tol = normal_accuracy(normals, errors)
    unit = normals / np.linalg.norm(normals, axis=1, keepdims=True)
    informative = ~weight_hyperplanes(unit, tol)
    points, unit, tol = points[informative], unit[informative], tol[informative]
    search = _Search(points, unit, tol, min_width, [], limit)
    search.run()
    return [
        widths
        for widths in search.found
        if all(
            sample_free(widths, v, t) or explain_kink(widths, p, v, tol=t) is not None
            for p, v, t in zip(points, unit, tol, strict=True)
        )
    ]


def sample_free(widths: list[int], normal: np.ndarray, tol: float = _TOL) -> bool:
    """Whether a unit normal (N,) has no first-layer part under ``widths``: its kink lies
    on a component of Sing(X) that does not depend on the sample (Prop. 2.9)."""
    return bool(np.linalg.norm(normal[Layout(tuple(widths)).layers[0].weight]) <= tol)

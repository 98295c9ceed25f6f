"""Counting windows: a window's share of the loss is its number of samples times one's.

One count pair (outputs o e_0 and −o e_0) per window, or, once one sample's share U and
the loss's factor κ are known, several windows a pair: each window gates a layer-2 unit
of its own whose output makes one sample's share the mixed-radix weight
Π_{i<j} (C_i + 1) S_0 (C_i the windows' count bounds), and the pair's answer is decoded
digit by digit from the top; a pack that does not decode is counted again one window a
pair.
"""

from __future__ import annotations

import numpy as np

from lossrecon.attacks.chosen.client import Client
from lossrecon.attacks.chosen.queries import GATE, GatedQueries
from lossrecon.attacks.chosen.router import GateRouter
from lossrecon.attacks.chosen.windows import Window
from lossrecon.precision import in_format

__all__ = ["COUNT_TOL", "count_capacity", "count_windows", "decode_counts"]

COUNT_TOL = 0.25  # a count this far from an integer means a boundary cut a sample


def count_capacity(client: Client, pack: bool, units: int) -> int:
    """The largest product of (count bound + 1) one packed count pair decodes: its sum
    must stay within a tenth of one sample's smallest share, its error being the
    answers' (with the outputs' rounding and κ's, a few roundoffs) times itself."""
    if not pack or units < 2 or client.answers.noisy:
        return 1
    return int(0.05 / (client.answer_error + 8.0 * client.roundoff))


def count_windows(
    queries: GatedQueries,
    windows: list[Window],
    bounds: list[int],
    *,
    packable: bool,
    capacity: int,
    unit: float,
    kappa: float,
) -> None:
    """Set every window's share and error: packed where its count bound (its parent's
    count) allows, by one count pair per pack, the rest, and every pack that did not
    decode, one window a pair."""
    if packable:
        packs, single = _packs(windows, bounds, capacity, queries.router)
    else:
        packs, single = [], list(windows)
    single += [windows[p[0]] for p in packs if len(p) == 1]
    packs = [p for p in packs if len(p) > 1]
    decoded = _packed_shares(queries, windows, bounds, packs, kappa)
    for pack, counts in zip(packs, decoded, strict=True):
        if counts is None:
            single += [windows[i] for i in pack]
            continue
        for i, c in zip(pack, counts, strict=True):
            windows[i].share, windows[i].error = float(c) * unit, 0.0
    if single:
        for window, (share, error) in zip(single, queries.shares(single).T, strict=True):
            window.share, window.error = float(share), float(error)


def _packs(
    windows: list[Window], bounds: list[int], capacity: int, router: GateRouter
) -> tuple[list[list[int]], list[Window]]:
    """Windows grouped into packs, fewest count bounds first: each pack's product of
    (bound + 1) within ``capacity``, its gates within the first layer's rows, one
    layer-2 unit a window; and the windows too large for any pack."""
    single: list[Window] = []
    packs: list[list[int]] = []
    order = sorted(range(len(windows)), key=lambda i: bounds[i])
    pack: list[int] = []
    product, rows = 1, 0
    for i in order:
        depth = 2 * len(windows[i].dirs)
        grown = product * (bounds[i] + 1)
        if pack and (grown > capacity or rows + depth > router.rows or len(pack) >= router.units):
            packs.append(pack)
            pack, grown, rows = [], bounds[i] + 1, 0
        if grown > capacity:
            single.append(windows[i])
            continue
        pack.append(i)
        product, rows = grown, rows + depth
    if pack:
        packs.append(pack)
    return packs, single


def _packed_shares(
    queries: GatedQueries,
    windows: list[Window],
    bounds: list[int],
    packs: list[list[int]],
    kappa: float,
) -> list[np.ndarray | None]:
    """The counts of each pack's windows (None where the pack did not decode), all
    packs in one batch of count pairs. Window j of a pack gates unit j of layer 2,
    whose output x_j makes one sample's share S_j = κ P(x_j) the mixed-radix weight
    Π_{i<j} (C_i + 1) S_0 (C_i the bounds); Δ = Σ c_j S_j is decoded digit by digit
    from the top, each digit within its bound and the last within a quarter of an
    integer, or not at all."""
    if not packs:
        return []
    client = queries.client
    # S_0 keeps the pair's error (answer_error times 2 closed + the sum) under a
    # tenth of itself, the sum under its capacity.
    least = 40.0 * client.answer_error * abs(client.closed) / kappa
    x0 = float(client.invert_pair_share(np.array([max(least, 1e-300)]))[0])
    outs, weights = [], []
    for pack in packs:
        radix = np.cumprod([1] + [bounds[i] + 1 for i in pack[:-1]]).astype(float)
        x = in_format(client.invert_pair_share(radix * client.pair_share_at(x0)), client.dtype)
        outs.append(x)
        weights.append(kappa * client.pair_share_at(x))
    # A pack whose outputs or sum would leave the format's range or pass the
    # client's ceiling is read one window a pair.
    fits = [
        float(x.max()) <= client.out_limit
        and float(w @ [bounds[i] for i in pack]) <= client.headroom / 2.0
        for x, w, pack in zip(outs, weights, packs, strict=True)
    ]
    asked = [q for q in range(len(packs)) if fits[q]]
    decoded: list[np.ndarray | None] = [None] * len(packs)
    if not asked:
        return decoded
    packs, outs = [packs[q] for q in asked], [outs[q] for q in asked]
    k = len(packs)
    units = max(len(p) for p in packs)
    depth = 2 * max(sum(len(windows[i].dirs) for i in p) for p in packs)

    def build(block: np.ndarray) -> np.ndarray:
        """The count pairs' weight vectors ``block`` (pair q: row q with +x, row q + k
        with −x)."""
        n, d, b = queries.n, queries.d, len(block)
        rows, biases = np.zeros((b, depth, n)), np.zeros((b, depth))
        mix, gamma = np.zeros((b, units, depth)), np.zeros((b, units))
        out = np.zeros((b, units, d))
        for r, half in enumerate(block):
            q, sign = (half, 1.0) if half < k else (half - k, -1.0)
            at = 0
            for j, i in enumerate(packs[q]):
                g_rows, g_biases, g_mix = queries.gate_rows(windows[i], GATE)
                used = slice(at, at + len(g_rows))
                rows[r, used], biases[r, used], mix[r, j, used] = g_rows, g_biases, g_mix
                gamma[r, j] = 1.0
                out[r, j, 0] = sign * outs[q][j]
                at += len(g_rows)
        return queries.router.weights(rows, biases, mix, gamma, out)

    answers = queries.ask_blocks(2 * k, build, "chart")
    saturated = ~np.isfinite(answers) | (answers >= client.ceiling)
    total = answers[:k] + answers[k:] - 2.0 * client.closed
    for q, (at, pack) in enumerate(zip(asked, packs, strict=True)):
        if not (saturated[q] or saturated[q + k]):
            decoded[at] = decode_counts(total[q], weights[at], [bounds[i] for i in pack])
    return decoded


def decode_counts(total: float, weights: np.ndarray, bounds: list[int]) -> np.ndarray | None:
    """Counts c (P,) with Σ c_j weights_j = total, each at most its bound, read from
    the top digit down; None unless the last digit lands within a quarter of an
    integer and every digit within its bound."""
    counts = np.zeros(len(weights), dtype=int)
    rest = float(total)
    for j in range(len(weights) - 1, 0, -1):
        c = int(np.floor((rest + 0.5 * weights[0]) / weights[j]))
        if not 0 <= c <= bounds[j]:
            return None
        counts[j], rest = c, rest - c * weights[j]
    last = rest / weights[0]
    if abs(last - round(last)) > COUNT_TOL or not 0 <= round(last) <= bounds[0]:
        return None
    counts[0] = round(last)
    return counts

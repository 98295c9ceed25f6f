"""Asking the gated network: one query per window, the answer minus the closed loss.

Every step of the gated attack asks through :class:`GatedQueries`: isolation with no
extra rows (a count pair: the window's share of the loss), a readout with extra
first-layer rows weighed into the window's unit (a value u of the isolated sample). An
answer past the client's range or at its ceiling is asked again with smaller outputs
(:meth:`GatedQueries.within_range`).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from lossrecon.attacks.chosen.client import Ask, Client, power_of_two
from lossrecon.attacks.chosen.router import GateRouter
from lossrecon.attacks.chosen.windows import Directions, Window
from lossrecon.errors import AttackError

__all__ = ["GATE", "MEMORY", "GatedQueries", "Values"]

GATE = 1e9  # Γ times a direction's range over the in-window value: margins 1e-9 of it
# Bytes the weight vectors in flight may take, by default: queries are built and asked
# in blocks that fit (a 3072-64-32-10 MLP's vectors are 1.6 MB each).
MEMORY = 2**30
_SHRINKS = 12  # times a query's output scale is divided by 8 while its answer saturates

# Extra first-layer rows (K, J, n), their weights into the window's unit (K, J) and its
# bias γ (K,): the in-window value u = γ + Σ_j mix_j relu(row_j · a).
Values = tuple[np.ndarray, np.ndarray, np.ndarray]


class GatedQueries:
    """Weight vectors for windows, asked of the client through ``ask``."""

    def __init__(
        self,
        ask: Ask,
        router: GateRouter,
        client: Client,
        directions: Directions,
        memory: int = MEMORY,
    ) -> None:
        self.ask = ask
        self.router = router
        self.client = client
        self.directions = directions
        self.n = router.net.n_inputs
        self.d = router.net.n_outputs
        # A block's weight vectors, their copy in the client's format and the gate rows
        # they are built from: about three float64 copies of (rows, N).
        self.block = max(1, memory // (3 * 8 * router.net.n_params))

    def ask_blocks(
        self, k: int, build: Callable[[np.ndarray], np.ndarray], phase: str
    ) -> np.ndarray:
        """The answers to K queries, built ``build(rows) -> W`` (len(rows), N) and asked a
        block of rows at a time, so that memory follows the budget, not K."""
        if k <= self.block:
            return self.ask(build(np.arange(k)), phase)
        blocks = [np.arange(s, min(s + self.block, k)) for s in range(0, k, self.block)]
        return np.concatenate([self.ask(build(rows), phase) for rows in blocks])

    def query(
        self,
        windows: list[Window],
        extra: np.ndarray,
        extra_mix: np.ndarray,
        gamma: np.ndarray,
        out: np.ndarray,
        phase: str,
    ) -> np.ndarray:
        """Δ = loss − closed loss (K,) for windows with extra first-layer rows (K, J, n)
        weighed by extra_mix (K, J), in-window constant γ (K,) and outputs (K, d)."""
        client = self.client
        depth = max(len(w.dirs) for w in windows)
        reach = np.abs(gamma) + np.abs(extra_mix).sum(1) * self.reach(extra)
        # The in-window value brought to about 1 (the outputs take the factor), so that a
        # gate of finite weight Γ still switches off everything farther than 1/Γ.
        peak = np.maximum(np.abs(out).max(1), 1e-300)
        with np.errstate(over="ignore"):
            shrink = power_of_two(np.minimum(reach, client.largest / peak))
        gamma, extra_mix, out = gamma / shrink, extra_mix / shrink[:, None], out * shrink[:, None]
        sides = np.array([w.side for w in windows])

        def build(block: np.ndarray) -> np.ndarray:
            k = len(block)
            rows = np.zeros((k, 2 * depth, self.n))
            biases = np.zeros((k, 2 * depth))
            gate = np.zeros((k, 2 * depth))
            for i, at in enumerate(block):
                used = 2 * len(windows[at].dirs)
                rows[i, :used], biases[i, :used], gate[i, :used] = self.gate_rows(
                    windows[at], GATE * reach[at] / shrink[at]
                )
            return self.router.weights(
                np.concatenate([rows, extra[block]], axis=1),
                np.concatenate([biases, np.zeros((k, extra.shape[1]))], axis=1),
                np.concatenate([gate, extra_mix[block]], axis=1)[:, None],
                gamma[block, None],
                out[block, None],
                sides=sides[block],
            )

        answers = self.ask_blocks(len(windows), build, phase)
        # A NaN is inf − inf met inside the network: an output past the format's range.
        # Where the outputs stay far inside it, nothing overflowed: the oracle is broken.
        bound = reach * peak * np.sqrt(self.n)
        broken = np.isnan(answers) & (bound <= client.largest)
        if broken.any():
            raise AttackError(
                f"the client answered NaN to weights whose outputs stay within "
                f"{bound[broken].max():.3g}, far inside its {client.dtype} range: its loss "
                "is broken (a NaN in its data, its model or its loss function), not "
                "overflowing"
            )
        # An answer past the format's range or at the client's clipping ceiling says
        # nothing of the share: NaN, for the caller to ask again at a smaller scale.
        saturated = ~np.isfinite(answers) | (answers >= client.ceiling)
        return np.where(saturated, np.nan, answers - client.closed)

    def gate_rows(self, w: Window, wanted: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The first-layer rows (2 D, n) and biases (2 D,) of window ``w`` (D directions),
        g_hi and g_lo on each, and their weights (2 D,) into its layer-2 unit: −Γ, Γ =
        ``wanted`` where the format holds it as one weight, else the rows are made steeper
        by a power of two (exact) instead, as far as every sample's w·a keeps them finite."""
        largest = self.client.largest
        strength = min(wanted, largest)
        spans = self.directions.spans
        widest = 4.0 * self.directions.widest()
        depth = len(w.dirs)
        rows, biases = np.zeros((2 * depth, self.n)), np.zeros(2 * depth)
        for j, (direction, lo, hi) in enumerate(zip(w.dirs, w.lo, w.hi, strict=True)):
            room = largest * spans[direction] / widest
            steep = power_of_two(max(1.0, min(wanted / strength, room)))
            scale = steep / spans[direction]
            vector = self.directions.vectors[direction]
            rows[2 * j], rows[2 * j + 1] = vector * scale, -vector * scale
            biases[2 * j], biases[2 * j + 1] = -hi * scale, lo * scale
        return rows, biases, np.full(2 * depth, -strength)

    def within_range(
        self, ask_rows: Callable[[np.ndarray, np.ndarray], np.ndarray], scales: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """``ask_rows(rows, scales) -> Δ`` for every row, each scale shrunk 8x where its
        answer saturated (NaN) until none does; returns Δ and the scales used."""
        scales = np.array(scales, dtype=float)
        delta = np.full(len(scales), np.nan)
        todo = np.arange(len(scales))
        for _ in range(_SHRINKS):
            got = ask_rows(todo, scales[todo])
            fine = ~np.isnan(got)
            delta[todo[fine]] = got[fine]
            todo = todo[~fine]
            if not len(todo):
                return delta, scales
            scales[todo] /= 8.0
        raise AttackError(
            f"the client's loss overflows its {self.client.dtype} range or its ceiling at "
            f"every output scale tried (down to {scales[todo].min():.3g} of the first)"
        )

    def reach(self, extra: np.ndarray) -> np.ndarray:
        """A bound on relu(r·a) over the samples for the extra rows (K, J, n)."""
        if extra.shape[1] == 0:
            return np.zeros(len(extra))
        return np.linalg.norm(extra, axis=2).max(1) * 4.0 * self.directions.widest(1.0)

    def plain(self, k: int) -> tuple[np.ndarray, np.ndarray]:
        """No extra rows, for K queries."""
        return np.zeros((k, 0, self.n)), np.zeros((k, 0))

    def shares(
        self,
        windows: list[Window],
        phase: str = "chart",
        scale: float | None = None,
        values: Values | None = None,
    ) -> np.ndarray:
        """Each window's share of the loss in a count pair, in units of the pair at scale
        1, and its error (2, K). The outputs start at ``scale`` (by default each window's
        own) and shrink where the answers saturate; each window keeps the scale used.
        ``values``: extra rows (K, J, n), their weights (K, J) and γ (K,) that make the
        in-window value u (default u = γ = 1)."""
        client = self.client
        k = len(windows)
        first = np.array([w.scale for w in windows]) if scale is None else np.full(k, scale)
        if values is None:
            values = (*self.plain(k), np.ones(k))
        extra, mix, gamma = values

        def pair(rows: np.ndarray, scales: np.ndarray) -> np.ndarray:
            chosen = [windows[i] for i in rows]
            out = np.zeros((2 * len(rows), self.d))
            out[:, 0] = np.concatenate([scales, -scales]) * client.count_output
            twice = np.concatenate([rows, rows])
            both = self.query(chosen + chosen, extra[twice], mix[twice], gamma[twice], out, phase)
            return both[: len(rows)] + both[len(rows) :]

        raw, scales = self.within_range(pair, first)
        for w, used in zip(windows, scales, strict=True):
            w.scale = float(used)
        ratio = client.pair_share(1.0) / client.pair_share(scales)
        # The pair's two answers, each off by up to answer_error times itself.
        error = client.answer_error * (2.0 * abs(client.closed) + np.abs(raw))
        return np.stack([raw * ratio, error * ratio])

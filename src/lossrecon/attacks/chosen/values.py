"""Reading a value u >= 0 of an isolated sample in one query, with its error bound.

The window's unit carries u = γ + Σ_j μ_j relu(r_j·a) for the sample inside it, and
the output sends it out: squared loss, o = −sign(b_0) s e_0, Δ = c κ ((su)² + 2 su |b_0|);
cross-entropy, o = s e_j with j not the sample's class, Δ = c κ (log(e^{su} + d − 1) −
log d). The output scale s makes the sample's share dominate the loss, as far as the
format's range and the client's ceiling allow.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from lossrecon.attacks.chosen.client import Client, power_of_two
from lossrecon.attacks.chosen.isolation import Isolated
from lossrecon.attacks.chosen.queries import GatedQueries
from lossrecon.precision import ROUNDOFF

__all__ = ["ValueReader"]


@dataclass(frozen=True)
class ValueReader:
    """Values of the samples ``isolated`` holds, sent out on the output ``column`` of
    each (K,): output 0 for a squared loss, whose labels' first outputs ``first_output``
    (K,) are known, a column other than each one's class for cross-entropy
    (``first_output`` None)."""

    queries: GatedQueries
    isolated: Isolated
    column: np.ndarray
    first_output: np.ndarray | None

    @property
    def client(self) -> Client:
        return self.queries.client

    def su(self, delta: np.ndarray, weight: np.ndarray, label: np.ndarray | None) -> np.ndarray:
        """s u >= 0 from Δ and the window's factor (count times κ): squared loss with
        o = −sign(b_0) s e_0 (label = b_0), whose share (su)² + 2 su |b_0| has one
        nonnegative root whatever s, or cross-entropy with o = s e_j, j not the class."""
        d = self.client.d
        per = delta / weight
        if label is not None:
            return -np.abs(label) + np.sqrt(np.maximum(label**2 + per, 0.0))
        x = per + np.log(d)
        return x + np.log1p(-(d - 1) * np.exp(-np.clip(x, 0.0, 700.0)))

    def read(
        self,
        pick: np.ndarray,
        extra: np.ndarray,
        mix: np.ndarray,
        gamma: np.ndarray,
        u_scale: float | np.ndarray,
        phase: str,
        u_max: float | np.ndarray | None = None,
        terms: Callable[[np.ndarray], np.ndarray] | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """u (K,) of the isolated samples ``pick`` (indices into the windows), whose size is
        about ``u_scale`` and at most ``u_max`` (default 4 ``u_scale``), and a bound on its
        error: the answer's carried to u, and 2 roundoffs of u's terms, whose magnitudes
        add up to ``terms(u)`` (u by default)."""
        client, isolated = self.client, self.isolated
        windows = [isolated.windows[i] for i in pick]
        count, weight = isolated.count[pick], isolated.weight[pick]
        k = len(windows)
        label = None if self.first_output is None else self.first_output[pick]
        if label is not None:
            s = np.sqrt(client.dominance * max(client.closed, isolated.unit) / weight)
            s = np.maximum(s, client.dominance * (1.0 + np.abs(label))) / u_scale
        else:
            s = client.dominance * max(client.closed / isolated.kappa, 1.0) / count / u_scale
        largest = 4.0 * np.asarray(u_scale) if u_max is None else np.asarray(u_max)
        s = np.minimum(s, client.out_limit / largest)
        # Under a ceiling, the share may fill half the room between the loss and it.
        room = client.headroom / (2.0 * weight)
        s = np.minimum(s, (np.sqrt(room) if label is not None else room) / largest)
        s = np.broadcast_to(power_of_two(s), (k,))
        column = self.column[pick]
        sign = np.ones(k) if label is None else np.where(label > 0, -1.0, 1.0)

        def value(rows: np.ndarray, scales: np.ndarray) -> np.ndarray:
            out = np.zeros((len(rows), client.d))
            out[np.arange(len(rows)), column[rows]] = sign[rows] * scales
            chosen = [windows[i] for i in rows]
            return self.queries.query(chosen, extra[rows], mix[rows], gamma[rows], out, phase)

        delta, s = self.queries.within_range(value, s)
        error = client.answer_error * (abs(client.closed) + np.abs(delta))
        # No share at all is u = 0; then u is at most what would have shown as ``error``.
        nothing = np.abs(delta) <= error
        su = np.where(nothing, 0.0, self.su(delta, weight, label))
        # The answer's error carried to u through the slope of Δ in su, the rounding of
        # u's own terms inside the network (``terms``, their magnitudes' sum in units of
        # u) and that of the decoding.
        slope = weight
        if label is not None:
            slope = slope * 2.0 * (su + np.abs(label))
        else:
            slope = slope * np.exp(-np.logaddexp(0.0, np.log(client.d - 1) - su))
        carried = error / np.maximum(slope, 1e-300) / s
        spread = 2.0 * client.roundoff * (np.abs(su / s) if terms is None else terms(su / s))
        du = np.where(nothing, self.su(error, weight, label) / s, carried + spread)
        return su / s, du + 4.0 * ROUNDOFF["float64"] * np.abs(su / s)

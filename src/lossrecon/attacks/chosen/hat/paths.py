"""The hat's three paths through the network, and asking the oracle about them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from lossrecon.attacks.chosen.client import Ask
from lossrecon.attacks.chosen.hat.router import Router

__all__ = ["Paths"]


@dataclass(frozen=True)
class Paths:
    """Three paths routed through the network (``router``), the output direction ``v0``
    the chart's single path is sent out along, the oracle (``ask(W, phase)``) and a
    progress hook (``report(phase)``)."""

    router: Router
    v0: np.ndarray
    ask: Ask
    report: Callable[[str], None]

    @property
    def dim(self) -> int:
        """The first-layer row's length: n, and one more for the bias."""
        return self.router.input_dim

    @property
    def d(self) -> int:
        return self.router.net.n_outputs

    def query(
        self, rows: np.ndarray, outputs: np.ndarray, phase: str
    ) -> tuple[np.ndarray, np.ndarray]:
        """Losses and squared weight norms for (K, 3, n') rows and (K, 3, d) outputs."""
        W = self.router.weights(rows, outputs)
        return self.ask(W, phase), np.einsum("kn,kn->k", W, W)

    def line_weights(self, p: np.ndarray, q: np.ndarray, t: np.ndarray) -> np.ndarray:
        """Weight vectors routing the single row p + t q along v0."""
        rows = np.zeros((len(t), 3, self.dim))
        rows[:, 0] = p + t[:, None] * q
        outputs = np.zeros((len(t), 3, self.d))
        outputs[:, 0] = self.v0
        return self.router.weights(rows, outputs)

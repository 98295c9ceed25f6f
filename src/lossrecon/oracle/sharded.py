"""A loss oracle whose training set is split into shards evaluated in parallel by Ray.

The loss is a sum over samples, so each shard computes its own sum of squared
residuals for the whole (K, N) batch and the driver adds them up: one ``ray.put`` of the
batch, one remote call per shard. Ray rather than Dask: it is already the engine under
Flower's simulation (the ``flower`` extra installs it), so the same cluster that runs
simulated clients runs the shards, and its actors keep each shard's arrays in place
between batches. On a cluster, start Ray there (``ray start --head`` and ``ray start
--address=...`` on the workers) and pass ``address="auto"``; every shard is one actor
with ``cpus_per_shard`` CPUs.
"""

from __future__ import annotations

import numpy as np

from lossrecon.data import training_arrays
from lossrecon.errors import ConfigurationError
from lossrecon.network import ReLUNetwork
from lossrecon.optional import require
from lossrecon.oracle.numpy_oracle import NumpyLossOracle, Regularizer
from lossrecon.oracle.protocol import DeclaredOracle, LossConvention, reduction_scale

__all__ = ["ShardedLossOracle"]


class _Shard:
    """One shard's part of the loss: sum_i ||b_i - F_w(a_i)||^2 over its samples."""

    def __init__(self, net: ReLUNetwork, inputs: np.ndarray, targets: np.ndarray) -> None:
        self.oracle = NumpyLossOracle(net, inputs, targets, reduction="sum")

    def squares(self, W: np.ndarray) -> np.ndarray:
        return self.oracle(W)


class ShardedLossOracle(DeclaredOracle):
    """E(w) = c * sum over shards of sum_i ||b_i - F_w(a_i)||^2 + r(w).

    Same parameters and answers as :class:`NumpyLossOracle` (``net``, ``inputs``,
    ``targets``, ``regularizer``, ``reduction``), plus ``shards`` (how many parts the
    training set is split into), ``cpus_per_shard`` and ``address`` (None starts a
    local Ray; "auto" joins a running cluster). Call :meth:`close` to free the actors.
    """

    def __init__(
        self,
        net: ReLUNetwork,
        inputs: object,
        targets: object,
        shards: int = 2,
        *,
        regularizer: Regularizer | None = None,
        reduction: str = "half_sum",
        cpus_per_shard: float = 1.0,
        address: str | None = None,
    ) -> None:
        x, y = training_arrays(inputs, targets, net.n_inputs, net.n_outputs)
        if not 1 <= shards <= len(x):
            raise ConfigurationError(f"shards must be between 1 and M = {len(x)}, got {shards}")
        ray = require("ray", "flower")
        if not ray.is_initialized():
            ray.init(address=address, include_dashboard=False, log_to_driver=False)
        cpus = ray.cluster_resources().get("CPU", 0.0)
        if shards * cpus_per_shard > cpus:
            raise ConfigurationError(
                f"{shards} shards of {cpus_per_shard} CPUs need {shards * cpus_per_shard} "
                f"CPUs, the Ray cluster has {cpus:g} (fewer shards, or a fraction per shard)"
            )
        self.net = net
        self.n_params = net.n_params
        self._convention = LossConvention("squared", reduction, "float64", len(x))  # type: ignore[arg-type]
        self.regularizer = regularizer
        self._scale = reduction_scale(reduction, len(x), net.n_outputs)
        actor = ray.remote(num_cpus=cpus_per_shard)(_Shard)
        self.actors = [
            actor.remote(net, x[part], y[part])
            for part in np.array_split(np.arange(len(x)), shards)
        ]

    def __call__(self, W: np.ndarray) -> np.ndarray:
        """Losses for W of shape (K, N) (or (N,)): an array of shape (K,)."""
        ray = require("ray", "flower")
        W = np.atleast_2d(np.asarray(W, dtype=np.float64))
        batch = ray.put(W)
        parts = ray.get([a.squares.remote(batch) for a in self.actors])
        losses = self._scale * np.sum(parts, axis=0)
        if self.regularizer is not None:
            losses += self.regularizer(W)
        return losses

    def close(self) -> None:
        """Stop the shard actors (Ray itself keeps running)."""
        ray = require("ray", "flower")
        for actor in self.actors:
            ray.kill(actor)
        self.actors = []

"""The obvious alternative, as a baseline: fit dummy samples whose loss matches the oracle's.

Gradient-inversion attacks (DLG, Inverting Gradients) learn dummy inputs and labels
whose *gradients* match the observed ones. With only loss values, the same idea reads:
query the loss at random weight vectors w_q, then learn dummy inputs X (M, n) and labels
Y (M, d_out) with torch autograd so that E_{X,Y}(w_q) matches every answer (Adam, then
L-BFGS). Same architecture knowledge and query budget as the chosen-weights attack; no
geometry. It is here to be compared with, and it is not expected to do well: the fit is
non-convex and the loss at random weights constrains the samples only weakly.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from lossrecon.activations import Activation
from lossrecon.attacks.contract import EARLY_STOPS, emit, stop_reason
from lossrecon.errors import ConfigurationError
from lossrecon.layout import forward
from lossrecon.network import ReLUNetwork, as_network
from lossrecon.optional import require
from lossrecon.oracle.counting import CountingOracle
from lossrecon.oracle.protocol import reduction_scale, squared_loss_convention, validate_oracle
from lossrecon.reconstruction import Reconstruction, RunStats

__all__ = ["loss_matching"]


def loss_matching(
    oracle: object,
    widths: Sequence[int] | ReLUNetwork,
    *,
    n_samples: int | None = None,
    budget: int | None = None,
    activation: str | Activation = "relu",
    bias: bool = False,
    reduction: str | None = None,
    adam_steps: int = 2000,
    lbfgs_steps: int = 200,
    random_state: int | None = 0,
) -> Reconstruction:
    """Dummy inputs and labels whose loss matches the oracle's at random weights.

    ``n_samples`` (M) is granted, as DLG is granted the batch size (the oracle's
    declared M when not given). ``budget`` queries (default 4 M (n + d_out + 1), a few
    per unknown) are spent at random He-initialised weights, in one batch. Returns inputs
    and labels with ``scale_known`` True and ``stats.relative_misfit``, the relative misfit
    of the matched losses. Failures follow :mod:`lossrecon.attacks.contract`; with its
    one batch, a failed oracle leaves nothing to fit, so the result is then empty.
    """
    torch = require("torch", "torch")
    n_params = validate_oracle(oracle)
    net = as_network(widths, activation, bias)
    net.activation.require_piecewise_linear("the loss-matching baseline")
    if net.n_params != n_params:
        raise ConfigurationError(
            f"{net} has N = {net.n_params} weights, the oracle takes N = {n_params}"
        )
    convention, n_samples = squared_loss_convention(oracle, "loss-matching", reduction, n_samples)
    if n_samples is None:
        raise ConfigurationError("n_samples must be given: the oracle does not declare M")
    n, d = net.n_inputs, net.n_outputs
    queries = budget if budget is not None else 4 * n_samples * (n + d + 1)
    kappa = reduction_scale(convention, n_samples, d)
    rng = np.random.default_rng(random_state)
    W = net.random_weights(queries, random_state=rng)
    counted = CountingOracle(oracle, budget)
    stats = RunStats(attack="loss_matching")
    try:
        losses = torch.as_tensor(counted(W))
    except EARLY_STOPS as exc:
        stats.stopped = stop_reason(exc)
        stats.warnings.append(f"stopped before fitting: {exc}")
        emit(stats)
        empty = np.zeros((0, n))
        return Reconstruction(empty, np.zeros((0, d)), True, net.widths, counted.queries, stats)
    weights = torch.as_tensor(W)

    generator = torch.Generator().manual_seed(int(rng.integers(2**31)))
    x = torch.randn(n_samples, n, dtype=torch.float64, generator=generator, requires_grad=True)
    y = torch.randn(n_samples, d, dtype=torch.float64, generator=generator, requires_grad=True)
    scale = losses.abs().mean()

    def misfit() -> Any:
        h = forward(net.layout, net.activation, weights, x)
        predicted = kappa * ((h - y) ** 2).sum((1, 2))
        return (((predicted - losses) / scale) ** 2).mean()

    adam = torch.optim.Adam([x, y], lr=0.05)
    for _ in range(adam_steps):
        adam.zero_grad()
        value = misfit()
        value.backward()
        adam.step()
    lbfgs = torch.optim.LBFGS([x, y], max_iter=lbfgs_steps, line_search_fn="strong_wolfe")

    def closure() -> Any:
        lbfgs.zero_grad()
        value = misfit()
        value.backward()
        return value

    lbfgs.step(closure)
    with torch.no_grad():
        final = float(misfit()) ** 0.5
    stats.relative_misfit = final
    return Reconstruction(
        inputs=x.detach().numpy(),
        targets=y.detach().numpy(),
        scale_known=True,
        widths=list(net.widths),
        queries=counted.queries,
        stats=stats,
    )

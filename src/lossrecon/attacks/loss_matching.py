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

import numpy as np

from lossrecon.errors import ConfigurationError
from lossrecon.network import ReLUNetwork
from lossrecon.optional import require
from lossrecon.oracle.counting import CountingOracle, validate_oracle
from lossrecon.oracle.protocol import reduction_of, reduction_scale, require_squared_loss
from lossrecon.reconstruction import Reconstruction

__all__ = ["loss_matching"]


def loss_matching(
    oracle: object,
    widths: Sequence[int],
    budget: int | None = None,
    *,
    n_samples: int,
    reduction: str | None = None,
    adam_steps: int = 2000,
    lbfgs_steps: int = 200,
    random_state: int | None = 0,
) -> Reconstruction:
    """Dummy inputs and labels whose loss matches the oracle's at random weights.

    ``n_samples`` (M) is granted, as DLG is granted the batch size. ``budget`` queries
    (default 4 M (n + d_out + 1), a few per unknown) are spent at random He-initialised
    weights. Returns inputs and labels with ``scale_known`` True and, in ``metadata``,
    the relative misfit of the matched losses.
    """
    torch = require("torch", "torch")
    n_params = validate_oracle(oracle)
    require_squared_loss(oracle, "loss-matching")
    net = ReLUNetwork(widths)
    if net.n_params != n_params:
        raise ConfigurationError(
            f"widths {list(widths)} give N = {net.n_params}, the oracle takes N = {n_params}"
        )
    if n_samples < 1:
        raise ConfigurationError(f"n_samples must be positive, got {n_samples}")
    n, d = net.n_inputs, net.n_outputs
    queries = budget if budget is not None else 4 * n_samples * (n + d + 1)
    kappa = reduction_scale(reduction_of(oracle, reduction), n_samples, d)
    rng = np.random.default_rng(random_state)
    W = net.random_weights(queries, random_state=rng)
    counted = CountingOracle(oracle, budget)
    losses = torch.as_tensor(counted(W))
    weights = [torch.as_tensor(m) for m, _ in net.unflatten(W)]

    generator = torch.Generator().manual_seed(int(rng.integers(2**31)))
    x = torch.randn(n_samples, n, dtype=torch.float64, generator=generator, requires_grad=True)
    y = torch.randn(n_samples, d, dtype=torch.float64, generator=generator, requires_grad=True)
    scale = losses.abs().mean()

    def misfit() -> object:
        h = x.expand(len(W), -1, -1)
        for k, matrix in enumerate(weights):
            h = h @ matrix.transpose(1, 2)
            if k < len(weights) - 1:
                h = torch.relu(h)
        predicted = kappa * ((h - y) ** 2).sum((1, 2))
        return (((predicted - losses) / scale) ** 2).mean()

    adam = torch.optim.Adam([x, y], lr=0.05)
    for _ in range(adam_steps):
        adam.zero_grad()
        value = misfit()
        value.backward()
        adam.step()
    lbfgs = torch.optim.LBFGS([x, y], max_iter=lbfgs_steps, line_search_fn="strong_wolfe")

    def closure() -> object:
        lbfgs.zero_grad()
        value = misfit()
        value.backward()
        return value

    lbfgs.step(closure)
    with torch.no_grad():
        final = float(misfit()) ** 0.5
    return Reconstruction(
        inputs=x.detach().numpy(),
        targets=y.detach().numpy(),
        scale_known=True,
        widths=list(widths),
        queries=counted.queries,
        metadata={"attack": "loss_matching", "relative_misfit": final},
    )

"""The reference loss oracle: the paper's loss E(w) evaluated with numpy."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from lossrecon.data import training_arrays
from lossrecon.errors import ConfigurationError
from lossrecon.network import ReLUNetwork
from lossrecon.oracle.protocol import DeclaredOracle, LossConvention, reduction_scale
from lossrecon.precision import FORMATS

__all__ = ["NumpyLossOracle", "weight_decay"]

Regularizer = Callable[[np.ndarray], np.ndarray]


def weight_decay(strength: float) -> Regularizer:
    """r(w) = strength / 2 * ||w||^2, vectorised over a (K, N) batch."""

    def regularizer(W: np.ndarray) -> np.ndarray:
        return 0.5 * strength * np.einsum("kn,kn->k", W, W)

    return regularizer


class NumpyLossOracle(DeclaredOracle):
    """E(w) = c * sum_i ||b_i - F_w(a_i)||^2 + r(w) for a batch of weight vectors.

    Parameters
    ----------
    net:
        the network F.
    inputs, targets:
        the training set, shapes (M, n) and (M, d_out) (a 1-D target is one output);
        numpy arrays or torch tensors.
    regularizer:
        optional smooth r, a function from (K, N) weight vectors to (K,) values.
    reduction:
        "half_sum" (the paper's c = 1/2, default), "sum" (c = 1) or "mean"
        (c = 1 / (M d_out), as ``MSELoss(reduction="mean")``).
    max_chunk_bytes:
        the working memory one chunk of weight vectors may use; batches are split so
        that huge K never needs more.
    dtype:
        "float64" (default), or "float32" / "float16" to evaluate the network and its
        loss in lower precision, as a framework does (the loss is summed in float32 at
        least); the answers carry that rounding and are float32 numbers.
    """

    def __init__(
        self,
        net: ReLUNetwork,
        inputs: object,
        targets: object,
        regularizer: Regularizer | None = None,
        reduction: str = "half_sum",
        max_chunk_bytes: int = 256 * 2**20,
        dtype: str = "float64",
    ) -> None:
        x, y = training_arrays(inputs, targets, net.n_inputs, net.n_outputs)
        numpy_formats = [name for name, f in FORMATS.items() if f.numpy is not None]
        if dtype not in numpy_formats:
            raise ConfigurationError(f"dtype must be one of {numpy_formats}, got {dtype!r}")
        self._dtype = np.dtype(FORMATS[dtype].numpy)
        # Sums are accumulated in at least float32, as PyTorch does for half precision.
        self._accumulate = np.promote_types(self._dtype, np.float32)
        self.net = net
        self.inputs = x
        self.targets = y
        self._evaluated = (x.astype(self._dtype, copy=False), y.astype(self._dtype, copy=False))
        self.regularizer = regularizer
        self._convention = LossConvention("squared", reduction, dtype, len(x))  # type: ignore[arg-type]
        self.n_params = net.n_params
        self._scale = reduction_scale(reduction, x.shape[0], net.n_outputs)
        floats_per_row = x.shape[0] * sum(layer.shape[0] for layer in net.layers) * 3
        self.chunk_rows = max(1, max_chunk_bytes // (8 * max(floats_per_row, net.n_params)))

    def __call__(self, W: np.ndarray) -> np.ndarray:
        """Losses for W of shape (K, N) (or (N,)): an array of shape (K,)."""
        W = np.atleast_2d(np.asarray(W, dtype=np.float64))
        losses = np.empty(W.shape[0])
        inputs, targets = self._evaluated
        for start in range(0, W.shape[0], self.chunk_rows):
            chunk = W[start : start + self.chunk_rows].astype(self._dtype, copy=False)
            residual = self.net.forward(chunk, inputs) - targets
            squares = np.einsum("kmd,kmd->k", residual, residual, dtype=self._accumulate)
            losses[start : start + len(chunk)] = self._accumulate.type(self._scale) * squares
        if self.regularizer is not None:
            losses += self.regularizer(W)
        return losses

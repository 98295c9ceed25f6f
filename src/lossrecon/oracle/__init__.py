"""Loss oracles: the protocol, query accounting, and concrete oracles."""

from lossrecon.oracle.counting import CountingOracle, validate_oracle
from lossrecon.oracle.numpy_oracle import NumpyLossOracle, weight_decay
from lossrecon.oracle.protocol import REDUCTIONS, LossOracle, reduction_of, reduction_scale

__all__ = [
    "REDUCTIONS",
    "CountingOracle",
    "LossOracle",
    "NumpyLossOracle",
    "reduction_of",
    "reduction_scale",
    "validate_oracle",
    "weight_decay",
]

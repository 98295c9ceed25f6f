"""Loss oracles: the protocol, query accounting, and concrete oracles."""

from lossrecon.oracle.counting import CountingOracle
from lossrecon.oracle.defenses import ClippedLoss, NoisyLoss, RoundedLoss, SoftplusLoss
from lossrecon.oracle.flower import FlowerRounds, attack_clients
from lossrecon.oracle.journal import JournalOracle
from lossrecon.oracle.numpy_oracle import NumpyLossOracle, weight_decay
from lossrecon.oracle.protocol import (
    REDUCTIONS,
    DeclaredOracle,
    LossConvention,
    LossOracle,
    OracleWrapper,
    convention_of,
    reduction_of,
    reduction_scale,
    validate_oracle,
)
from lossrecon.oracle.sharded import ShardedLossOracle
from lossrecon.oracle.torch_oracle import SUPPORTED_MODULES, TorchLossOracle

__all__ = [
    "REDUCTIONS",
    "SUPPORTED_MODULES",
    "ClippedLoss",
    "CountingOracle",
    "DeclaredOracle",
    "FlowerRounds",
    "JournalOracle",
    "LossConvention",
    "LossOracle",
    "NoisyLoss",
    "NumpyLossOracle",
    "OracleWrapper",
    "RoundedLoss",
    "ShardedLossOracle",
    "SoftplusLoss",
    "TorchLossOracle",
    "attack_clients",
    "convention_of",
    "reduction_of",
    "reduction_scale",
    "validate_oracle",
    "weight_decay",
]

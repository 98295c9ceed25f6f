"""lossrecon: reconstruct training samples of piecewise-linear networks from loss values.

import lossrecon as lr
net = lr.ReLUNetwork([n, h1, ..., d_out])
oracle = lr.NumpyLossOracle(net, inputs, targets)
report = lr.evaluate(rec, inputs, targets)
"""

from lossrecon import attacks
from lossrecon.activations import LWTA, Activation, LeakyReLU, Maxout, ReLU, make_activation
from lossrecon.data import Dataset, load_dataset, synthetic
from lossrecon.errors import (
    AttackError,
    ConfigurationError,
    LossreconError,
    MissingDependencyError,
    OracleError,
    QueryBudgetExceeded,
)
from lossrecon.evaluation import evaluate
from lossrecon.network import ReLUNetwork
from lossrecon.oracle import (
    CountingOracle,
    LossOracle,
    NumpyLossOracle,
    ShardedLossOracle,
    TorchLossOracle,
    weight_decay,
)
from lossrecon.reconstruction import Reconstruction

__version__ = "0.1.0"


def __getattr__(name: str) -> object:
    """``lr.symbolic`` loads sympy and python-flint on first use, not on import."""
    if name == "symbolic":
        import importlib

        return importlib.import_module("lossrecon.symbolic")
    raise AttributeError(f"module 'lossrecon' has no attribute {name!r}")


__all__ = [
    "LWTA",
    "Activation",
    "AttackError",
    "ConfigurationError",
    "CountingOracle",
    "Dataset",
    "LeakyReLU",
    "LossOracle",
    "LossreconError",
    "Maxout",
    "MissingDependencyError",
    "NumpyLossOracle",
    "OracleError",
    "QueryBudgetExceeded",
    "ReLU",
    "ReLUNetwork",
    "Reconstruction",
    "ShardedLossOracle",
    "TorchLossOracle",
    "__version__",
    "attacks",
    "evaluate",
    "load_dataset",
    "make_activation",
    "symbolic",
    "synthetic",
    "weight_decay",
]

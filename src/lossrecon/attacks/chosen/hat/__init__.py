"""The hat: isolation by cancellation, for any piecewise-linear activation.

Exact on float64 squared losses (the cancellation of far samples is exact only in exact
arithmetic). The steps: :mod:`.chart` (kinks along two lines), :mod:`.brackets`
(isolation), :mod:`.readout` (coordinates and labels), :mod:`.attack` (the passes);
:mod:`.router` and :mod:`.paths` build the weight vectors.
"""

from lossrecon.attacks.chosen.hat.attack import read_by_hat
from lossrecon.attacks.chosen.hat.router import hat_fit

__all__ = ["hat_fit", "read_by_hat"]

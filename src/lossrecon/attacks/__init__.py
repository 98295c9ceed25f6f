"""Attacks: each takes a loss oracle and what the threat model grants, and returns a
:class:`~lossrecon.Reconstruction`. None of them sees ground truth."""

from lossrecon.attacks.blind import blind
from lossrecon.attacks.chosen import chosen_weights
from lossrecon.attacks.loss_matching import loss_matching

__all__ = ["blind", "chosen_weights", "loss_matching"]

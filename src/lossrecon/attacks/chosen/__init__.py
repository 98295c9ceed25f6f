"""The chosen-weights attack: exact inputs and labels when the attacker picks the weights.

The flow, one module a step:

    dispatch     the architecture checked, a method chosen        (chosen_weights)
    probe        the target's loss kind, arithmetic, rounding and ceiling, off its answers
    client       its format, its answers' error, its loss at w = 0
    router       weight vectors of the gated network on the one layout
    queries      asking the gated network: one window, its share of the loss
    isolation    the seam: windows of one sample each, handed to a readout
      chart        with biases: windows counted (counts, cuts, rescue)
      homogeneous  without biases: windows weighed (weighted_chart)
    readout      what is read of an isolated sample: labels, coordinates (values, packing)
    checks       each sample's check and error bounds
    gates        the steps above in order, and their result
    hat          the hat (any piecewise-linear activation, float64): its own chart,
                 brackets and readout

A new architecture adds a readout; a new isolation reads through the same readouts.
"""

from lossrecon.attacks.chosen.dispatch import chosen_weights

__all__ = ["chosen_weights"]

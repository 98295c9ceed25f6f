"""Geometry of the loss along lines: kinks (nonsmooth points), their jumps, the normal
of Sing(X) at each, and the layer widths those normals imply."""

from lossrecon.geometry.architecture import (
    Explanation,
    candidate_layouts,
    explain_kink,
    node_gradient,
    normal_accuracy,
    sample_free,
    weight_hyperplanes,
)
from lossrecon.geometry.line_reader import Kink, LineReading, read_line
from lossrecon.geometry.normals import gradient_jumps

__all__ = [
    "Explanation",
    "Kink",
    "LineReading",
    "candidate_layouts",
    "explain_kink",
    "gradient_jumps",
    "node_gradient",
    "normal_accuracy",
    "read_line",
    "sample_free",
    "weight_hyperplanes",
]

"""A torch model as the attacks see it: its computation read from ``forward``."""

from __future__ import annotations

from lossrecon.model.traced import Step, Traced, trace

__all__ = ["Step", "Traced", "trace"]

"""Optional dependencies, imported when a feature needs them, with a message naming the
extra to install when they are missing."""

from __future__ import annotations

import importlib
from types import ModuleType

from lossrecon.errors import MissingDependencyError

__all__ = ["require"]


def require(module: str, extra: str) -> ModuleType:
    """``import module``, or MissingDependencyError saying ``pip install 'lossrecon[extra]'``."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingDependencyError(module.split(".")[0], extra) from exc

"""Loading the user's own code by reference: ``package.module:name`` or ``file.py:name``.

The CLI and the audits take models, oracle factories and data loaders this way; one
function resolves them all and names what is wrong with a reference that does not.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from pathlib import Path
from typing import Any

from lossrecon.errors import ConfigurationError

__all__ = ["load_object"]


def load_object(reference: str, search_path: Path | None = None, what: str = "--model") -> Any:
    """The callable ``reference`` names: ``MODULE:ATTR`` (importable, or under
    ``search_path``) or ``FILE.py:ATTR``."""
    where, _, name = reference.rpartition(":")
    if not where or not name:
        raise ConfigurationError(
            f"{what} must look like package.module:name or file.py:name, got {reference!r}"
        )
    if where.endswith(".py"):
        path = Path(where)
        if not path.is_file():
            raise ConfigurationError(f"{what} file {path} does not exist")
        spec = importlib.util.spec_from_file_location(path.stem, path)
        if spec is None or spec.loader is None:
            raise ConfigurationError(f"cannot import {path}")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    else:
        if search_path is not None and str(search_path) not in sys.path:
            sys.path.insert(0, str(search_path))
        try:
            module = importlib.import_module(where)
        except ImportError as exc:
            raise ConfigurationError(f"cannot import {where!r} for {what}: {exc}") from None
    found = getattr(module, name, None)
    if not callable(found):
        raise ConfigurationError(f"{where} has no class or function {name!r} (for {what})")
    return found

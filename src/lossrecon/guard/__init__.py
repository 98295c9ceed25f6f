"""The client-side protection: a Flower mod that bounds what reported losses reveal.

    from lossrecon.guard import loss_guard
    app = ClientApp(mods=[loss_guard(max_answers=50, bits=16)])

:func:`loss_guard` snaps every floating-point metric to a grid of 2^b values and answers
at most Q distinct instructions a run; :func:`guard_account` reads the node's
:class:`Account` (answers, bits spent, the bound) from inside the app.
"""

from __future__ import annotations

import json
from typing import Any

from lossrecon.guard.account import STATE_KEY, Account
from lossrecon.guard.mod import (
    DEFAULT_ANSWERS,
    DEFAULT_BITS,
    DEFAULT_RANGE,
    REFUSAL_CODE,
    loss_guard,
)
from lossrecon.guard.quantizer import Quantizer
from lossrecon.guard.weight_check import WeightCheck

__all__ = [
    "DEFAULT_ANSWERS",
    "DEFAULT_BITS",
    "DEFAULT_RANGE",
    "REFUSAL_CODE",
    "Account",
    "Quantizer",
    "WeightCheck",
    "guard_account",
    "loss_guard",
]


def guard_account(context: Any) -> Account | None:
    """The guard's account of this node in this run (None before its first answer)."""
    record = context.state.config_records.get(STATE_KEY)
    if record is None:
        return None
    return Account.from_json(json.loads(str(record["account"])))

"""Shared fixtures and helpers for the test-suite."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import settings

# The same examples on every run: a failure the property tests find is then reproduced by
# the next run (and by CI), never one run's luck.
settings.register_profile("repeatable", derandomize=True)
settings.load_profile("repeatable")


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(12345)

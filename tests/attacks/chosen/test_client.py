"""The client as the gates see it: every value asked stays inside its format."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from lossrecon.attacks.chosen.client import measure_client
from lossrecon.precision import DTYPES


@settings(deadline=None)  # the first example imports scipy
@given(
    dtype=st.sampled_from(DTYPES),
    loss=st.sampled_from(["squared", "cross_entropy"]),
    closed=st.floats(1e-6, 1e4),
    d=st.integers(2, 1000),
    noise=st.sampled_from([0.0, 1e-4, 1e-2]),
)
def test_count_outputs_stay_inside_the_format_whatever_the_loss(dtype, loss, closed, d, noise):
    """A count pair's output is count_output times its window's scale, which starts at
    first_scale and doubles as windows narrow, up to scale_cap: neither may ask an output
    past the format's limit (float16: the square of an output past 256 overflows)."""
    answers = closed * (1.0 + noise * np.random.default_rng(0).normal(size=8))
    client = measure_client(
        lambda W, phase: answers[: len(W)], 10, loss, dtype, d, None, None, answers
    )
    largest = max(client.first_scale, client.scale_cap) * client.count_output
    assert largest <= client.out_limit * (1 + 1e-12)

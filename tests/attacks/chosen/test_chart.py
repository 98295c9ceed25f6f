"""The biased chart: shares count samples."""

from types import SimpleNamespace

from lossrecon.attacks.chosen.chart import BiasedChart
from lossrecon.attacks.chosen.windows import Window


def test_an_empty_packed_window_is_no_evidence_of_a_smaller_unit():
    """A packed count of 0 is a share of exactly 0 with no error: the unit check must
    not divide by it (it did, in lossrecon bench)."""
    chart = SimpleNamespace(unit=1.0)
    parent = Window([0], [-1.0], [1.0], share=2.0)
    empty, full = Window([0], [-1.0], [0.0], share=0.0), Window([0], [0.0], [1.0], share=2.0)
    assert BiasedChart.smaller_unit(chart, parent, empty, full) is False
    half = Window([0], [-1.0], [0.0], share=1.0, error=0.01)
    assert BiasedChart.smaller_unit(SimpleNamespace(unit=2.0), parent, half, half) is True

"""The seam between isolation and readout: a readout is replaced, isolation is not."""

import numpy as np

import lossrecon as lr
from lossrecon.attacks.chosen.gates import read_gated
from lossrecon.attacks.chosen.isolation import Isolated, Reading
from lossrecon.attacks.chosen.labels import read_labels
from lossrecon.attacks.chosen.values import ValueReader
from lossrecon.oracle.counting import CountingOracle


class ProjectionReadout:
    """Reads of each isolated sample its label and one number, the projection p·a of
    its input on a fixed direction p (one query a sample): a readout that knows nothing
    of how the sample was isolated, as a convolution stack's feature readout will."""

    def __init__(self, queries, rng):
        self.queries = queries
        self.p = np.full(queries.n, 1.0 / queries.n)
        self.isolated = []

    def __call__(self, isolated: Isolated, pack: bool) -> Reading:
        self.isolated.append(isolated)
        k = len(isolated)
        labels = read_labels(self.queries, isolated, pack=False)
        values = ValueReader(self.queries, isolated, labels.column, labels.first_output)
        bound = 32.0  # p·a of a digit (pixels 0..16) is at most 16
        extra, mix = np.tile(self.p, (k, 1, 1)), np.full((k, 1), 1.0 / bound)
        u, du = values.read(np.arange(k), extra, mix, np.ones(k), 1.25, "projection")
        projection, bounds = ((u - 1.0) * bound)[:, None], (du * bound)[:, None]
        return Reading(
            isolated.windows,
            projection,
            bounds,
            labels.values,
            labels.bounds,
            isolated.count,
            isolated.weight,
            np.zeros(k),
            np.isfinite(projection[:, 0]) & labels.ok,
            np.zeros(k, dtype=bool),
            np.zeros(k),
        )


def test_a_readout_is_replaced_without_touching_isolation():
    data = lr.load_dataset("digits", n_samples=40, random_state=5)
    net = lr.ReLUNetwork([64, 16, 8, 10], bias=True)
    counted = CountingOracle(lr.NumpyLossOracle(net, data.inputs, data.targets), overflow=True)
    readers = []

    def projection_readout(queries, rng):
        readers.append(ProjectionReadout(queries, rng))
        return readers[-1]

    result = read_gated(
        counted.ask,
        net,
        loss="squared",
        dtype="float64",
        rng=np.random.default_rng(0),
        readout=projection_readout,
    )
    (reader,) = readers
    assert len(reader.isolated[0]) == 40 and counted.by_phase["projection"] == 40
    truth = np.sort(data.inputs @ reader.p)
    order = np.argsort(result.inputs[:, 0])
    read, bounds = result.inputs[order, 0], result.input_bounds[order, 0]
    np.testing.assert_allclose(read, truth, rtol=1e-9)
    assert np.all(np.abs(read - truth) <= bounds)

"""Exact gates: the chosen-weights attack at the client's own precision."""

import itertools
import warnings

import numpy as np
import pytest

import lossrecon as lr
from lossrecon.errors import ConfigurationError
from lossrecon.oracle import NoisyLoss
from lossrecon.precision import in_format

torch = pytest.importorskip("torch")


class Undeclared:
    """Only what a Flower server sees: numbers."""

    def __init__(self, oracle):
        self.oracle, self.n_params = oracle, oracle.n_params

    def __call__(self, W):
        return self.oracle(W)


def mlp(widths, seed=0, bias=True):
    torch.manual_seed(seed)
    layers = []
    for k, (a, b) in enumerate(itertools.pairwise(widths)):
        layers.append(torch.nn.Linear(a, b, bias=bias))
        if k < len(widths) - 2:
            layers.append(torch.nn.ReLU())
    return torch.nn.Sequential(*layers)


def run(oracle, widths, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return lr.attacks.chosen_weights(oracle, widths, bias=True, **kwargs)


def test_float32_squared_loss_declared_nowhere_is_read_exactly():
    data = lr.synthetic(40, 6, 3, random_state=1)
    widths = [6, 8, 5, 3]
    loss_fn = torch.nn.MSELoss(reduction="mean")
    target = lr.TorchLossOracle(mlp(widths), data.inputs, data.targets, loss_fn, dtype="float32")
    rec = run(Undeclared(target), widths)
    report = lr.evaluate(rec, data.inputs, data.targets)
    assert (rec.stats.method, rec.stats.loss, rec.stats.dtype) == ("gates", "squared", "float32")
    assert rec.stats.reduction == "mean"
    assert report["recall"] == 1.0 and report["precision"] == 1.0
    assert report["input_rel_error_median"] < 2e-6 and report["target_rel_error_median"] < 1e-4


def test_float32_cross_entropy_gives_inputs_and_classes():
    data = lr.load_dataset("digits", n_samples=60, random_state=2)
    widths = [64, 16, 8, 10]
    classes = data.targets.argmax(1)
    loss_fn = torch.nn.CrossEntropyLoss()
    target = lr.TorchLossOracle(mlp(widths), data.inputs, classes, loss_fn, dtype="float32")
    rec = run(Undeclared(target), widths)
    report = lr.evaluate(rec, data.inputs, data.targets)
    assert (rec.stats.loss, rec.stats.reduction) == ("cross_entropy", "mean")
    assert report["recall"] == 1.0 and report["precision"] == 1.0
    assert report["input_rel_error_median"] < 2e-6
    assert np.array_equal(rec.targets, np.eye(10)[rec.targets.argmax(1)])
    assert report["target_rel_error_max"] == 0.0


def test_float64_is_exact_and_the_error_bounds_hold():
    data = lr.synthetic(30, 5, 2, random_state=3)
    net = lr.ReLUNetwork([5, 6, 4, 2], bias=True)
    rec = run(lr.NumpyLossOracle(net, data.inputs, data.targets), net)
    found = lr.evaluation.match(rec.inputs, data.inputs, tau=1e-6)
    error = np.abs(rec.inputs[found.recovered] - data.inputs[found.truth])
    assert lr.evaluate(rec, data.inputs, data.targets)["input_rel_error_max"] < 1e-12
    assert rec.stats.input_error_bounds.shape == rec.inputs.shape
    assert np.all(error <= rec.stats.input_error_bounds[found.recovered])


def test_duplicates_come_back_once_with_their_multiplicity():
    data = lr.synthetic(20, 5, 2, random_state=4)
    x, y = np.vstack([data.inputs, data.inputs[:1]]), np.vstack([data.targets, data.targets[:1]])
    net = lr.ReLUNetwork([5, 8, 4, 2], bias=True)
    rec = run(lr.NumpyLossOracle(net, x, y, dtype="float32"), net)
    assert rec.n_samples == 20 and sorted(rec.stats.multiplicity)[-1] == 2
    assert lr.evaluate(rec, x, y)["precision"] == 1.0


def test_noise_costs_precision_not_confidence():
    data = lr.synthetic(30, 5, 2, random_state=5)
    net = lr.ReLUNetwork([5, 8, 4, 2], bias=True)
    oracle = NoisyLoss(lr.NumpyLossOracle(net, data.inputs, data.targets, dtype="float32"), 1e-4)
    rec = run(oracle, net)
    report = lr.evaluate(rec, data.inputs, data.targets, tau=1e-4)
    assert report["precision"] == 1.0 and report["recall"] >= 0.9


@pytest.mark.xfail(
    strict=True,
    reason="known bug: behind relative noise of 1e-2 on a small network the checks pass "
    "two samples 72 % and 98 % off, outside their error bounds (docs/bench.md)",
)
def test_heavy_noise_returns_nothing_wrong():
    data = lr.synthetic(20, 8, 2, random_state=1)
    net = lr.ReLUNetwork([8, 6, 4, 2], bias=True)
    plain = lr.NumpyLossOracle(net, data.inputs, data.targets)
    rec = run(NoisyLoss(plain, 1e-2, random_state=0), net)
    bounds = rec.stats.input_error_bounds
    for a, bound in zip(rec.inputs, bounds if bounds is not None else [], strict=True):
        nearest = data.inputs[np.argmin(np.abs(data.inputs - a).max(axis=1))]
        assert np.all(np.abs(nearest - a) <= bound + 1e-12)


def test_the_method_is_the_one_the_architecture_allows_and_said():
    data = lr.synthetic(10, 4, 2, random_state=6)
    hat_net = lr.ReLUNetwork([4, 5, 2], bias=True)  # one hidden layer
    rec = run(lr.NumpyLossOracle(hat_net, data.inputs, data.targets), hat_net)
    assert rec.stats.method == "hat"
    with pytest.raises(ConfigurationError, match="two hidden layers"):
        run(lr.NumpyLossOracle(hat_net, data.inputs, data.targets), hat_net, method="gates")
    float32 = lr.NumpyLossOracle(hat_net, data.inputs, data.targets, dtype="float32")
    with pytest.warns(lr.errors.LossreconWarning, match="the hat reads float64"):
        lr.attacks.chosen_weights(float32, hat_net)


def digits(m, seed=0):
    data = lr.load_dataset("digits")
    return data.inputs[:m] / 16.0, data.targets[:m]


@pytest.mark.parametrize(("dtype", "loss"), [("float16", "ce"), ("bfloat16", "mse")])
def test_half_precision_clients_are_read_exactly_after_snapping(dtype, loss):
    """float16's largest number is 65504 and bfloat16 keeps 8 bits: the scales stay in
    range, the cuts are numbers of the format, and the grid makes the digits exact."""
    x, y = digits(60)
    widths = [64, 16, 8, 10]
    model = mlp(widths).to(getattr(torch, dtype))
    targets = y.argmax(1) if loss == "ce" else y
    loss_fn = torch.nn.CrossEntropyLoss() if loss == "ce" else torch.nn.MSELoss()
    rec = run(Undeclared(lr.TorchLossOracle(model, x, targets, loss_fn)), widths, snap=True)
    assert rec.stats.dtype == dtype and rec.stats.grid == 1 / 16
    order, truth = np.lexsort(rec.inputs.T), np.lexsort(x.T)
    assert np.array_equal(rec.inputs[order], x[truth])
    assert np.array_equal(rec.targets[order], y[truth])


def test_a_clipped_loss_is_read_under_its_ceiling():
    x, y = digits(40)
    widths = [64, 16, 8, 10]
    target = lr.TorchLossOracle(mlp(widths), x, y.argmax(1), torch.nn.CrossEntropyLoss())
    ceiling = 2.0 * float(target(np.zeros((1, target.n_params)))[0])
    rec = run(Undeclared(lr.oracle.ClippedLoss(target, ceiling)), widths, snap=True)
    assert any("clipped at" in w for w in rec.stats.warnings)
    assert lr.evaluate(rec, x, y)["recall"] == 1.0
    assert lr.evaluate(rec, x, y)["input_rel_error_max"] == 0.0


def test_the_error_bounds_hold_for_every_number_in_float32():
    x, y = digits(40)
    widths = [64, 16, 8, 10]
    target = lr.TorchLossOracle(mlp(widths), x, y.argmax(1), torch.nn.CrossEntropyLoss())
    rec = run(Undeclared(target), widths)
    found = lr.evaluation.match(rec.inputs, x, tau=1e-6)
    error = np.abs(rec.inputs[found.recovered] - x[found.truth])
    assert np.mean(error <= rec.stats.input_error_bounds[found.recovered]) >= 0.99


def test_quantized_inputs_are_read_several_to_an_answer_and_exactly():
    x, y = digits(120)
    widths = [64, 16, 8, 10]
    target = lr.TorchLossOracle(mlp(widths), x, y.argmax(1), torch.nn.CrossEntropyLoss())
    packed = run(Undeclared(target), widths, snap=True)
    plain = run(Undeclared(target), widths, pack=False)
    assert lr.evaluate(packed, x, y)["input_rel_error_max"] == 0.0
    assert packed.stats.pack_grid[0] == 1 / 16 and packed.stats.packed.mean() > 0.8
    assert packed.queries < 0.5 * plain.queries
    assert packed.stats.bits_limit < packed.queries


def test_counts_are_read_several_windows_to_a_count_pair():
    """Once one sample's share and κ are known, a count pair gates several windows on
    units of their own, their counts packed in its answer: a fraction of the chart's
    queries, the same samples."""
    x, y = digits(120)
    widths = [64, 16, 8, 10]
    target = lr.TorchLossOracle(mlp(widths), x, y.argmax(1), torch.nn.CrossEntropyLoss())
    packed = run(Undeclared(target), widths)
    plain = run(Undeclared(target), widths, pack=False)
    for rec in (packed, plain):
        report = lr.evaluate(rec, x, y)
        assert report["recall"] == 1.0 and report["precision"] == 1.0
    chart = packed.stats.queries_by_phase["chart"]
    assert chart < 0.6 * plain.stats.queries_by_phase["chart"]


def test_one_hot_labels_of_a_squared_loss_are_read_several_outputs_to_a_query():
    x, y = digits(80)
    widths = [64, 16, 8, 10]
    target = lr.TorchLossOracle(mlp(widths), x, y, torch.nn.MSELoss())
    rec = run(Undeclared(target), widths, snap=True)
    report = lr.evaluate(rec, x, y)
    assert report["recall"] == 1.0 and report["target_rel_error_max"] == 0.0
    assert rec.stats.queries_by_phase["labels"] < 0.5 * 80 * 10


def test_real_valued_labels_are_read_one_output_a_query():
    data = lr.synthetic(40, 6, 3, random_state=1)
    widths = [6, 8, 5, 3]
    target = lr.TorchLossOracle(mlp(widths), data.inputs, data.targets, torch.nn.MSELoss())
    rec = run(Undeclared(target), widths)
    assert lr.evaluate(rec, data.inputs, data.targets)["target_rel_error_median"] < 1e-4
    assert rec.stats.queries_by_phase["labels"] == 40 * 3


def test_a_grid_that_breaks_after_the_first_samples_costs_queries_not_samples():
    """One coordinate of every sixth digit is off the grid: too rare among the first
    samples to deny the grid, so those values fail to decode and are read unpacked."""
    x, y = digits(60)
    x[::6, 10] += 0.004
    widths = [64, 16, 8, 10]
    target = lr.TorchLossOracle(mlp(widths), x, y.argmax(1), torch.nn.CrossEntropyLoss())
    rec = run(Undeclared(target), widths)
    report = lr.evaluate(rec, x, y)
    assert report["recall"] == 1.0 and report["precision"] == 1.0
    assert rec.stats.pack_grid is not None
    assert rec.stats.queries_by_phase["coordinates (unpacked)"] > 0


def test_heavy_noise_costs_repeats_and_precision_never_confidence():
    """Noise of 1e-2 of the loss: the noise bounded from repeats at w = 0, counts at
    larger scales, weak samples read again; what comes back is right to 1e-3."""
    x, y = digits(40)
    widths = [64, 16, 8, 10]
    target = lr.TorchLossOracle(mlp(widths), x, y.argmax(1), torch.nn.CrossEntropyLoss())
    rec = run(Undeclared(NoisyLoss(target, 1e-2, random_state=1)), widths)
    report = lr.evaluate(rec, x, y, tau=1e-3)
    assert report["recall"] >= 0.9 and report["precision"] == 1.0
    assert rec.stats.grid is None  # the noise leaves no grid to claim


class ReshuffledBatches:
    """A float32 training loop's reported loss: the mean over batches of each batch's
    mean cross-entropy, the batches (4, 4, 2) drawn afresh every call, as a shuffling
    data loader with a short last batch draws them (``shuffle=False``: the same
    batches)."""

    def __init__(self, x, y, widths, shuffle, seed=0):
        self.x, self.y, self.shuffle = x, y, shuffle
        self.layout = lr.layout.Layout(tuple(widths), bias=True)
        self.n_params = self.layout.n_params
        self.rng = np.random.default_rng(seed)

    def __call__(self, W):
        W = np.atleast_2d(W).astype(np.float32)
        out = lr.layout.forward(self.layout, lr.activations.ReLU(), W, self.x.astype(np.float32))
        top = out.max(axis=2, keepdims=True)
        log_p = out - top - np.log(np.exp(out - top).sum(axis=2, keepdims=True))
        per_sample = -log_p[:, np.arange(len(self.y)), self.y]  # (K, M)
        answers = []
        for row in per_sample:
            order = self.rng.permutation(len(row)) if self.shuffle else np.arange(len(row))
            batches = [row[order[i : i + 4]].mean() for i in range(0, len(row), 4)]
            answers.append(float(np.float32(np.mean(batches))))
        return np.array(answers)


@pytest.mark.parametrize("shuffle", [False, True])
def test_answers_that_disagree_with_themselves_are_named_not_read(shuffle):
    """Fixed batches of unequal size weigh the samples unequally, and are read exactly;
    reshuffled ones give the same weights a different loss each call: named."""
    digits = lr.load_dataset("digits")
    x, y = digits.inputs[:10] / 16.0, digits.targets[:10].argmax(1)
    oracle = ReshuffledBatches(x, y, [64, 32, 16, 10], shuffle)
    if shuffle:
        with pytest.raises(lr.errors.AttackError, match="disagree with themselves"):
            run(oracle, [64, 32, 16, 10])
    else:
        rec = run(oracle, [64, 32, 16, 10], snap=True)
        assert lr.evaluate(rec, x, np.eye(10)[y])["recall"] == 1.0


def read_bias_free(oracle, widths, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return lr.attacks.chosen_weights(oracle, widths, bias=False, **kwargs)


def test_bias_free_float32_digits_are_read_exactly_with_honest_bounds():
    """The paper's networks: no biases, so every unit is homogeneous and each sample's
    share goes as (u0·a)²; the gates read the inputs in the anchor's units and scale them
    back, the reduction (mean, PyTorch's default) assumed where nothing is declared."""
    x, y = digits(80)
    widths = [64, 16, 8, 10]
    model = mlp(widths, bias=False)
    target = lr.TorchLossOracle(model, x, y, torch.nn.MSELoss(), dtype="float32")
    guessed = read_bias_free(Undeclared(target), widths)
    assert (guessed.stats.method, guessed.stats.dtype) == ("gates", "float32")
    assert not guessed.scale_known  # the reduction, assumed, sets the scale
    rec = read_bias_free(Undeclared(target), widths, reduction="mean")
    assert rec.scale_known and rec.stats.reduction == "mean"
    report = lr.evaluate(rec, x, y)
    assert report["recall"] == 1.0 and report["precision"] == 1.0
    assert report["input_rel_error_median"] < 1e-6
    found = lr.evaluation.match(rec.inputs, x, tau=1e-6)
    error = np.abs(rec.inputs[found.recovered] - x[found.truth])
    assert np.mean(error <= rec.stats.input_error_bounds[found.recovered]) >= 0.99
    snapped = read_bias_free(Undeclared(target), widths, reduction="mean", snap=True)
    assert snapped.stats.grid == 1 / 16
    order, truth = np.lexsort(snapped.inputs.T), np.lexsort(x.T)
    assert np.array_equal(snapped.inputs[order], x[truth])
    assert np.array_equal(snapped.targets[order], y[truth])


def test_bias_free_windows_holding_two_samples_are_caught_and_charted_again(monkeypatch):
    """Shares without biases count nothing, so a window the chart took for one sample
    may hold several. Here the chart is made blind along its first direction: it reads
    the window of every sample as one. The blend fails its checks (off the anchor's
    plane; its share leaves a slab around it), nothing wrong is returned, and the window
    is charted again along new directions until every sample is read."""
    from lossrecon.attacks.chosen.weighted_chart import WeightedChart

    weigh = WeightedChart.moments

    def blind_at_first(self, windows, phase):
        mean, spread, blur = weigh(self, windows, phase)
        first = np.array([len(w.dirs) == 1 for w in windows])
        return mean, spread & ~first, np.where(first, 0.0, blur)

    monkeypatch.setattr(WeightedChart, "moments", blind_at_first)
    data = lr.synthetic(40, 6, 2, random_state=7)
    x = np.abs(data.inputs)
    net = lr.ReLUNetwork([6, 12, 4, 2])
    oracle = lr.NumpyLossOracle(net, x, data.targets, dtype="float32")
    rec = read_bias_free(oracle, net)
    assert rec.stats.queries_by_phase.get("chart again", 0) > 0
    report = lr.evaluate(rec, x, data.targets, tau=1e-5)
    assert report["recall"] == 1.0 and report["precision"] == 1.0


def test_bias_free_data_on_both_sides_of_the_anchor_are_read_in_two_passes():
    """Samples with u0·a < 0 are read with the anchor −u0. Those close to the anchor's
    plane (|u0·a| a few hundredths of ||a||) lie far out in the ratio the gates cut and
    share little of the loss: some are missed, none is returned wrong."""
    data = lr.synthetic(80, 6, 2, random_state=8)
    net = lr.ReLUNetwork([6, 16, 4, 2])
    oracle = lr.NumpyLossOracle(net, data.inputs, data.targets, dtype="float32")
    rec = read_bias_free(oracle, net)
    found = lr.evaluation.match(rec.inputs, data.inputs, tau=1e-5)
    assert len(found.recovered) == len(rec.inputs)  # precision 1
    side = np.sign(data.inputs.sum(1))
    assert {1.0, -1.0} <= set(side[found.truth])
    assert len(found.truth) >= 0.9 * len(data.inputs)
    assert rec.scale_known  # M declared: the scale holds though some were missed
    mean = lr.NumpyLossOracle(net, data.inputs, data.targets, dtype="float32", reduction="mean")
    undeclared = read_bias_free(Undeclared(mean), net, reduction="mean")
    assert not undeclared.scale_known  # M counted from the shares, some missed
    report = lr.evaluate(undeclared, data.inputs, data.targets, tau=1e-5)
    assert report["precision"] == 1.0


def test_bias_free_float64_declared_gets_the_hat_and_anything_else_the_gates():
    data = lr.synthetic(20, 5, 2, random_state=9)
    net = lr.ReLUNetwork([5, 6, 4, 2])
    exact = lr.NumpyLossOracle(net, data.inputs, data.targets)
    assert read_bias_free(exact, net).stats.method == "hat"
    undeclared = read_bias_free(Undeclared(exact), net, n_samples=20, reduction="half_sum")
    assert undeclared.stats.method == "gates" and undeclared.scale_known
    report = lr.evaluate(undeclared, data.inputs, data.targets)
    assert report["precision"] == 1.0 and report["input_rel_error_max"] < 1e-12
    float32 = lr.NumpyLossOracle(net, data.inputs, data.targets, dtype="float32")
    assert read_bias_free(float32, net).stats.method == "gates"


class Asked(lr.oracle.OracleWrapper):
    """Counts the weight vectors its oracle is asked, its convention carried."""

    def __init__(self, oracle):
        super().__init__(oracle)
        self.asked = 0

    def __call__(self, W):
        self.asked += len(W)
        return super().__call__(W)


def test_bias_free_gates_refuse_what_they_do_not_read_before_the_first_query():
    """What the architecture and the declared convention show is refused before any
    query; what only the answers show, right after the probe that shows it."""
    x, y = digits(10)
    widths = [64, 8, 4, 10]
    model = mlp(widths, bias=False)
    ce = lr.TorchLossOracle(model, x, y.argmax(1), torch.nn.CrossEntropyLoss(), dtype="float32")
    half = lr.TorchLossOracle(model, x, y, torch.nn.MSELoss(), dtype="float16")
    for oracle, reason in ((ce, "squared loss only"), (half, "float32 and float64 clients only")):
        asked = Asked(oracle)
        with pytest.raises(ConfigurationError, match=reason):
            read_bias_free(asked, widths, method="gates")
        assert asked.asked == 0
        undeclared = Asked(Undeclared(oracle))
        with pytest.raises(ConfigurationError, match=reason):
            read_bias_free(undeclared, widths, method="gates")
        assert 0 < undeclared.asked <= 21  # the probe, and nothing more
    narrow = lr.ReLUNetwork([64, 4, 4, 10])
    with pytest.raises(ConfigurationError, match="width >= 5 without biases"):
        read_bias_free(lr.NumpyLossOracle(narrow, x, y), narrow, method="gates")


def test_one_output_declared_nowhere_is_a_squared_loss():
    """log d = 0 for one output: the loss at w = 0 says nothing of cross-entropy."""
    data = lr.synthetic(20, 5, 1, random_state=10)
    net = lr.ReLUNetwork([5, 6, 4, 1], bias=True)
    oracle = lr.NumpyLossOracle(net, data.inputs, data.targets, dtype="float32")
    rec = run(Undeclared(oracle), net)
    assert rec.stats.loss == "squared"
    assert lr.evaluate(rec, data.inputs, data.targets)["recall"] == 1.0


def cut_through_samples(monkeypatch, x):
    """Every fifth cut of the chart put exactly on a sample's projection (as a float32
    client rounds it)."""
    from lossrecon.attacks.chosen.cuts import Cuts

    cut = Cuts.cut
    calls = itertools.count(1)

    def through_a_sample(self, w, jitter=True):
        middle = cut(self, w, jitter)
        if middle is None or next(calls) % 5:
            return middle
        span = self.directions.spans[w.dirs[-1]]
        row = in_format(self.directions.vectors[w.dirs[-1]] / span, "float32").astype(np.float32)
        t = (x.astype(np.float32) @ row).astype(float) * span
        inside = t[(w.lo[-1] < t) & (t < w.hi[-1])]
        return float(inside[np.argmin(np.abs(inside - middle))]) if len(inside) else middle

    monkeypatch.setattr(Cuts, "cut", through_a_sample)


def cut_digits():
    data = lr.load_dataset("digits", n_samples=80, random_state=3)
    widths = [64, 16, 8, 10]
    loss_fn = torch.nn.MSELoss()
    target = lr.TorchLossOracle(mlp(widths), data.inputs, data.targets, loss_fn, dtype="float32")
    return data.inputs, data.targets, widths, Undeclared(target)


def test_samples_a_cut_runs_through_are_read_again_not_lost(monkeypatch):
    """A sample on a cut falls in both parts, or leaks a share too small to count into
    one, and blends that window's reading. The blends fail their check; counted afresh
    beside variants with one edge moved inward, they are read again or charted again,
    and every sample comes back once."""
    x, y, widths, target = cut_digits()
    cut_through_samples(monkeypatch, x)
    with pytest.warns(lr.errors.LossreconWarning, match="passed their check when read again"):
        rec = lr.attacks.chosen_weights(target, widths, bias=True)
    assert rec.stats.queries_by_phase["re-read"] > 0
    report = lr.evaluate(rec, x, y)
    assert report["recall"] == 1.0 and report["precision"] == 1.0


class SpentAfter(lr.oracle.OracleWrapper):
    """Fails once ``queries`` weight vectors were asked: a budget, or a lost client."""

    def __init__(self, oracle, queries, error):
        super().__init__(oracle)
        self.left, self.error = queries, error

    def __call__(self, W):
        self.left -= len(W)
        if self.left < 0:
            raise self.error
        return super().__call__(W)


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        (lr.errors.QueryBudgetExceeded(1, 1, 1), "budget"),
        (lr.errors.OracleError("the client left"), "oracle"),
    ],
    ids=["budget", "oracle"],
)
def test_a_run_stopped_while_windows_are_read_again_keeps_what_was_read(monkeypatch, error, reason):
    """Whatever stops the run once samples were read, they come back, with why."""
    x, y, widths, target = cut_digits()
    cut_through_samples(monkeypatch, x)
    whole = run(target, widths)
    mending = whole.stats.queries_by_phase["re-read"]
    assert mending > 0
    cut_through_samples(monkeypatch, x)  # the same cuts again
    # Stopped just after the windows that failed are counted again.
    stopped = run(SpentAfter(target, whole.queries - mending // 2, error), widths)
    assert stopped.stats.stopped == reason
    assert any("stopped early" in w for w in stopped.stats.warnings)
    report = lr.evaluate(stopped, x, y)
    assert report["precision"] == 1.0 and 0.5 < report["recall"] < 1.0


def test_answers_that_contradict_the_model_once_samples_are_read_keep_them(monkeypatch):
    """An AttackError while failures are read again stops the run, not the result."""
    from lossrecon.attacks.chosen import chart

    def contradicted(*args):
        raise lr.errors.AttackError("the client's answers disagree with themselves")

    x, y, widths, target = cut_digits()
    cut_through_samples(monkeypatch, x)
    monkeypatch.setattr(chart, "rescued", contradicted)
    rec = run(target, widths)
    assert rec.stats.checks_failed > 0 and rec.stats.stopped == "unreadable"
    assert any("disagree with themselves" in w for w in rec.stats.warnings)
    report = lr.evaluate(rec, x, y)
    assert report["precision"] == 1.0 and 0.5 < report["recall"] < 1.0


class NaNForLargeWeights(lr.oracle.OracleWrapper):
    """A broken client: NaN whenever a weight passes 1e5, whatever the outputs."""

    def __call__(self, W):
        answers = super().__call__(W)
        return np.where(np.abs(W).max(1) > 1e5, np.nan, answers)


def test_nan_where_nothing_can_overflow_is_named_a_broken_oracle_not_an_overflow():
    data = lr.synthetic(20, 5, 2, random_state=11)
    net = lr.ReLUNetwork([5, 8, 4, 2], bias=True)
    oracle = NaNForLargeWeights(lr.NumpyLossOracle(net, data.inputs, data.targets))
    with pytest.raises(lr.errors.AttackError, match=r"answered NaN.*broken.*not overflowing"):
        run(oracle, net)


def test_float16_counts_stay_inside_the_format_on_any_architecture():
    """The independent check's case: MSE mean, 64-24-12-10, 100 digits in [0, 1], all in
    float16. The squared error of an output past 256 overflows float16: a count is never
    asked there (it was, as windows narrowed, and was asked again 8x smaller)."""
    x, y = digits(100)
    widths = [64, 24, 12, 10]
    target = lr.TorchLossOracle(mlp(widths).half(), x, y, torch.nn.MSELoss())
    finite, phases = [], []

    class Watched(Undeclared):
        def __call__(self, W):
            answers = super().__call__(W)
            finite.extend(np.isfinite(answers))
            return answers

    def progress(phase, queries, samples):
        phases.extend([phase] * (queries - len(phases)))

    rec = run(Watched(target), widths, snap=True, progress=progress)
    assert rec.stats.dtype == "float16"
    report = lr.evaluate(rec, x, y)
    assert report["recall"] == 1.0 and report["input_rel_error_max"] == 0.0
    counts = [f for f, phase in zip(finite, phases, strict=True) if phase in ("chart", "range")]
    assert len(counts) > 100 and all(counts)


def test_a_loss_with_weight_decay_is_read_by_the_hat_and_the_run_says_why():
    """The independent check's case: float64, 64-32-16-10 with biases, MSE mean, the
    reported loss with weight decay 1e-3. The gates' large weights would make the decay
    outweigh every sample's share (0 of 400 digits were read): the probe sees the
    regularizer at weights whose outputs are 0, and auto runs the hat, which reads
    through it."""
    data = lr.load_dataset("digits", n_samples=60, random_state=12)
    net = lr.ReLUNetwork([64, 32, 16, 10], bias=True)
    decay = lr.weight_decay(1e-3)
    target = lr.NumpyLossOracle(net, data.inputs, data.targets, decay, reduction="mean")
    rec = run(Undeclared(target), net)
    assert rec.stats.method == "hat" and rec.stats.reduction == "mean"
    assert any("adds a regularizer" in w for w in rec.stats.warnings)
    report = lr.evaluate(rec, data.inputs, data.targets)
    assert report["recall"] == 1.0 and report["precision"] == 1.0
    assert report["input_rel_error_max"] < 1e-8
    np.testing.assert_allclose(rec.stats.multiplicity, 1.0, rtol=1e-6)
    asked = Asked(Undeclared(target))
    with pytest.raises(ConfigurationError, match=r"adds a regularizer.*method is gates"):
        run(asked, net, method="gates")
    assert asked.asked == 21  # the probe
    single = lr.NumpyLossOracle(net, data.inputs, data.targets, decay, dtype="float32")
    with pytest.raises(ConfigurationError, match="computes squared in float32"):
        run(single, net)


def test_rounded_answers_are_read_at_outputs_a_narrower_client_holds():
    """Answers rounded to 6 digits show no format (they look float64): reading shares
    outweigh the rest only as far as 6 digits tell, so a float32 client is asked outputs
    it holds, each coordinate once (they overflowed it and were asked again before)."""
    x, y = digits(40)
    widths = [64, 16, 8, 10]
    model = mlp(widths, bias=False)
    rounded = lr.oracle.RoundedLoss(lr.TorchLossOracle(model, x, y, torch.nn.MSELoss()), 6)
    rec = read_bias_free(Undeclared(rounded), widths, reduction="mean", pack=False)
    assert rec.stats.dtype == "float64"  # what the rounded answers show
    assert rec.stats.queries_by_phase["coordinates"] <= 1.1 * 40 * 64
    assert lr.evaluate(rec, x, y, tau=1e-4)["recall"] == 1.0


def test_progress_counts_the_samples_as_they_are_read():
    """Progress said "done 678 q 0 samples" for a split whose 25 samples were read."""
    x, y = digits(30)
    widths = [64, 16, 8, 10]
    target = lr.TorchLossOracle(mlp(widths), x, y.argmax(1), torch.nn.CrossEntropyLoss())
    heard = []
    rec = run(Undeclared(target), widths, progress=lambda *said: heard.append(said))
    phase, queries, samples = heard[-1]
    assert (phase, queries, samples) == ("done", rec.queries, 30)
    assert [s for p, _, s in heard if p == "read"] == [30]
    assert heard[0][2] == 0 and all(a[1] <= b[1] for a, b in itertools.pairwise(heard))


class BatchMeans(ReshuffledBatches):
    """A training loop's reported loss as Flower's templates compute it: each batch's
    mean cross-entropy a float32 number (``.item()``), their sum over the batches taken
    in Python's float64."""

    def __call__(self, W):
        W = np.atleast_2d(W).astype(np.float32)
        out = lr.layout.forward(self.layout, lr.activations.ReLU(), W, self.x.astype(np.float32))
        top = out.max(axis=2, keepdims=True)
        log_p = out - top - np.log(np.exp(out - top).sum(axis=2, keepdims=True))
        per_sample = -log_p[:, np.arange(len(self.y)), self.y]
        answers = []
        for row in per_sample:
            batches = [float(np.float32(row[i : i + 4].mean())) for i in range(0, len(row), 4)]
            answers.append(sum(batches) / len(batches))
        return np.array(answers)


def test_ragged_float32_batches_averaged_in_float64_are_read_as_float32():
    """Batches of 4, 4 and 2, declared nowhere: no answer is a float32 number, yet each
    is three of them over three (the chart thrashed for 900 s taking them for float64)."""
    digits_data = lr.load_dataset("digits")
    x, y = digits_data.inputs[:10] / 16.0, digits_data.targets[:10].argmax(1)
    oracle = BatchMeans(x, y, [64, 32, 16, 10], shuffle=False)
    rec = run(oracle, [64, 32, 16, 10], snap=True)
    assert rec.stats.dtype == "float32"
    assert lr.evaluate(rec, x, np.eye(10)[y])["recall"] == 1.0


def test_queries_are_built_and_asked_in_blocks_that_fit_the_memory_budget():
    """The packed readout asked every group of every sample at once (27 GiB for 8
    images of a 3072-64-32-10 MLP): queries come in blocks that fit the budget, the
    same queries, the same samples."""
    x, y = digits(40)
    widths = [64, 16, 8, 10]
    target = lr.TorchLossOracle(mlp(widths), x, y.argmax(1), torch.nn.CrossEntropyLoss())
    sizes = []

    class Sized(Undeclared):
        def __call__(self, W):
            sizes.append(len(W))
            return super().__call__(W)

    whole = run(Sized(target), widths, snap=True)
    largest = max(sizes)
    sizes.clear()
    n_params = target.n_params
    budget = 50 * 3 * 8 * n_params  # 50 weight vectors a block
    blocked = run(Sized(target), widths, snap=True, memory=budget)
    assert largest > 50 and max(sizes) <= 50
    assert blocked.queries == whole.queries
    np.testing.assert_array_equal(blocked.inputs, whole.inputs)

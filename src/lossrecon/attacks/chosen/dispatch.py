"""``chosen_weights``: the architecture checked, a method chosen, its result reported.

Exact gates (:mod:`.gates`) where the architecture allows them, after a probe of the
target (:mod:`.probe`); the hat (:mod:`.hat`) otherwise. Every configuration error the
architecture and the declared convention show is raised before the first query.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np

from lossrecon.activations import Activation
from lossrecon.attacks.chosen.gates import GatedResult, read_gated
from lossrecon.attacks.chosen.hat import hat_fit, read_by_hat
from lossrecon.attacks.chosen.homogeneous import homogeneous_fit
from lossrecon.attacks.chosen.packing import bits_limit
from lossrecon.attacks.chosen.probe import Target, probe_target
from lossrecon.attacks.chosen.queries import MEMORY
from lossrecon.attacks.chosen.router import gates_fit
from lossrecon.attacks.contract import EARLY_STOPS, Progress, emit, stop_reason
from lossrecon.errors import ConfigurationError
from lossrecon.grid import detect_grid
from lossrecon.grid import snap as snap_to
from lossrecon.network import ReLUNetwork, as_network
from lossrecon.oracle.counting import CountingOracle
from lossrecon.oracle.protocol import (
    ASSUMED_REDUCTION,
    LossConvention,
    convention_of,
    reduction_named,
    reduction_scale,
    squared_loss_convention,
    validate_oracle,
)
from lossrecon.reconstruction import Reconstruction, RunStats

__all__ = ["chosen_weights"]

METHODS = ("auto", "gates", "hat")


def chosen_weights(
    oracle: object,
    widths: Sequence[int] | ReLUNetwork,
    *,
    activation: str | Activation = "relu",
    bias: bool = False,
    budget: int | None = None,
    reduction: str | None = None,
    n_samples: int | None = None,
    method: str = "auto",
    snap: bool = False,
    pack: bool = True,
    random_state: int | np.random.Generator | None = 0,
    progress: Progress | None = None,
    memory: int = MEMORY,
    **activation_params: Any,
) -> Reconstruction:
    """Recover every training input and its label exactly from a loss oracle.

    The attacker knows the architecture — ``widths`` as a :class:`ReLUNetwork`, or as
    the widths list with ``activation`` and ``bias`` — and may evaluate the loss at any
    weights. Two methods (``method``: "auto" picks the first the architecture allows,
    and ``stats.method`` says which ran):

    - "gates" (ReLU, two or more hidden layers, the first of width >= 4 with biases,
      >= 5 without): exact at the client's own precision — float64 to bfloat16, squared
      loss or cross-entropy, whose kind and arithmetic it reads off the answers when the
      oracle does not declare them; ``stats.input_error_bounds`` bounds each input's
      error. Without biases: squared loss in float32 or float64, scaled by ``reduction``
      (declared, else "half_sum", the paper's); "auto" gives a bias-free network the hat
      when the oracle declares an exact float64 squared loss.
    - "hat" (every hidden layer with room for three parallel paths, any activation):
      exact on a float64 squared loss; ``reduction`` and ``n_samples`` override what the
      oracle declares (with "mean", M fixes the scale).

    ``snap`` rounds the inputs to the coarsest grid 1/q they all lie on, if any
    (``stats.grid``; digits: 1/16). ``pack`` (gates): once the first samples show their
    inputs lie on a grid, read several coordinates per query (``stats.packed``,
    ``stats.pack_grid``; ``stats.bits_limit`` is the fewest queries the data allow).
    ``progress(phase, queries, samples)`` is called as the attack goes. ``memory``
    (gates): the bytes the weight vectors in flight may take, 1 GiB by default; larger
    batches are built and asked in blocks that fit. Returns exact
    inputs and labels (``scale_known``; cross-entropy labels as one-hot rows);
    ``stats`` holds the checks, the warnings and, with biases, each sample's
    multiplicity. Failures follow :mod:`lossrecon.attacks.contract`.
    """
    n_params = validate_oracle(oracle)
    net = as_network(widths, activation, bias, **activation_params)
    if net.n_params != n_params:
        raise ConfigurationError(
            f"{net} has N = {net.n_params} weights, but the oracle takes N = {n_params}"
        )
    if method not in METHODS:
        raise ConfigurationError(f"method must be one of {METHODS}, got {method!r}")
    unfit = gates_fit(net)
    if method == "gates" and unfit is not None:
        raise ConfigurationError(unfit)
    rng = np.random.default_rng(random_state)
    declared = convention_of(oracle).overridden(reduction=reduction, n_samples=n_samples)
    if method == "auto" and unfit is None and not net.bias:
        # Bias-free: the hat where the oracle declares an exact float64 squared loss (it
        # reads samples of both signs whole; the gates can miss those near their anchor's
        # plane); the gates read every other, the client's arithmetic read off the answers.
        exact = declared.dtype == "float64" and declared.loss in (None, "squared")
        method = "hat" if exact else "gates"
    if method != "hat" and unfit is None:
        refused = None if net.bias else homogeneous_fit(declared.loss, declared.dtype)
        if refused is not None:
            raise ConfigurationError(refused)
        counted = CountingOracle(oracle, budget, overflow=True)
        settings = _GateSettings(pack, method == "auto", memory)
        rec = _through_gates(counted, net, declared, rng, progress, settings)
    else:
        rec = _through_hat(oracle, net, declared, budget, rng, progress, unfit)
    if snap:
        _snap(rec)
    emit(rec.stats)
    return rec


def _through_hat(
    oracle: object,
    net: ReLUNetwork,
    declared: LossConvention,
    budget: int | None,
    rng: np.random.Generator,
    progress: Progress | None,
    unfit: str | None,
) -> Reconstruction:
    """The chosen-weights attack by the hat (see :mod:`lossrecon.attacks.chosen.hat`)."""
    if declared.loss == "cross_entropy":
        raise ConfigurationError(
            "the oracle's loss is 'cross_entropy', which only exact gates read, and "
            f"{unfit or 'method is hat'}"
        )
    convention, m = squared_loss_convention(
        oracle, "chosen-weights", declared.reduction, declared.n_samples
    )
    kappa = None
    if convention != "mean" or m is not None:
        kappa = reduction_scale(convention, m or 1, net.n_outputs)
    rec = read_by_hat(CountingOracle(oracle, budget), net, kappa, rng, progress)
    if declared.dtype not in (None, "float64"):
        rec.stats.warnings.insert(
            0,
            f"the hat reads float64 losses, the oracle computes in {declared.dtype}; "
            f"exact gates would read it, but {unfit}",
        )
    return rec


def _snap(rec: Reconstruction) -> None:
    """The inputs and the labels put on the grids they lie on, when there are
    (``stats.grid``, ``stats.target_grid``); a number whose error bound leaves its grid
    point in doubt stays as read."""
    stats = rec.stats
    stats.grid = detect_grid(rec.inputs, stats.input_error_bounds)
    if stats.grid is not None:
        rec.inputs = snap_to(rec.inputs, stats.grid, stats.input_error_bounds)
    if rec.targets is not None:
        stats.target_grid = detect_grid(rec.targets, stats.target_error_bounds)
        if stats.target_grid is not None:
            rec.targets = snap_to(rec.targets, stats.target_grid, stats.target_error_bounds)


class _GateSettings(NamedTuple):
    """What the caller chose for the gates: packing, whether the hat may run where the
    probe shows a loss only it reads, and the memory budget of the queries in flight."""

    pack: bool
    hat_allowed: bool
    memory: int


def _through_gates(
    oracle: CountingOracle,
    net: ReLUNetwork,
    declared: LossConvention,
    rng: np.random.Generator,
    progress: Progress | None,
    settings: _GateSettings,
) -> Reconstruction:
    """The chosen-weights attack by exact gates: the probe, then the gated reading (or
    the hat, where allowed and the probe shows a loss only the hat reads)."""
    stats = RunStats(attack="chosen_weights", method="gates")
    result = None
    told = _Told(oracle, progress)
    ask = told.ask
    try:
        target = probe_target(ask, net, declared, rng)
        if target.regularizer:
            return _regularized(oracle, net, declared, target, rng, progress, settings.hat_allowed)
        stats.loss, stats.dtype = target.loss, target.dtype
        if target.digits is not None:
            stats.warnings.append(f"the answers are rounded to {target.digits} significant digits")
        if target.ceiling is not None:
            stats.warnings.append(f"the answers are clipped at {target.ceiling:.6g}")
        result = read_gated(
            ask,
            net,
            loss=target.loss,
            dtype=target.dtype,
            rng=rng,
            n_samples=declared.n_samples,
            digits=target.digits,
            closed=target.closed,
            ceiling=target.ceiling,
            pack=settings.pack,
            reduction=declared.reduction,
            told=told.read,
            memory=settings.memory,
        )
        _report_gated(stats, result, target, net)
        told.read(len(result.inputs), "done")
    except EARLY_STOPS as exc:
        stats.stopped = stop_reason(exc)
        stats.warnings.append(f"stopped early: {exc}")
    stats.queries_by_phase = dict(oracle.by_phase)
    if result is None:
        empty = np.zeros((0, net.n_inputs)), np.zeros((0, net.n_outputs))
        return Reconstruction(*empty, True, list(net.widths), oracle.queries, stats)
    return Reconstruction(
        result.inputs,
        result.targets,
        result.scale_known,
        list(net.widths),
        oracle.queries,
        stats,
    )


class _Told:
    """What ``progress`` hears of the gated attack: each batch's phase, the queries
    spent, and the samples read and checked so far."""

    def __init__(self, oracle: CountingOracle, progress: Progress | None) -> None:
        self.oracle, self.progress, self.samples = oracle, progress, 0

    def ask(self, W: np.ndarray, phase: str) -> np.ndarray:
        answers = self.oracle.ask(W, phase)
        self.tell(phase)
        return answers

    def read(self, samples: int, phase: str = "read") -> None:
        self.samples = samples
        self.tell(phase)

    def tell(self, phase: str) -> None:
        if self.progress is not None:
            self.progress(phase, self.oracle.queries, self.samples)


def _regularized(
    oracle: CountingOracle,
    net: ReLUNetwork,
    declared: LossConvention,
    target: Target,
    rng: np.random.Generator,
    progress: Progress | None,
    hat_allowed: bool,
) -> Reconstruction:
    """The hat, for a loss whose regularizer the gates' large weights would magnify past
    every sample's share (weight decay grows as the square of the weights): it reads
    through weight decay, in float64 and for a squared loss; elsewhere a refusal."""
    closed = float(np.median(target.closed))
    reason = (
        f"the client's loss adds a regularizer ({target.regularizer:.3g} at weights of "
        f"norm² {net.n_params - net.n_outputs} whose outputs are 0, beside a loss of "
        f"{closed:.3g} at w = 0): the gates' large weights would make it outweigh every "
        "sample's share"
    )
    unfit = hat_fit(net)
    if target.dtype != "float64" or target.loss != "squared":
        unfit = f"the client computes {target.loss} in {target.dtype}"
    if not hat_allowed or unfit is not None:
        why = "method is gates" if unfit is None else unfit
        raise ConfigurationError(f"{reason}; the hat reads through weight decay, but {why}")
    rec = _through_hat(oracle, net, declared, oracle.remaining, rng, progress, None)
    rec.stats.warnings.insert(0, f"{reason}: the hat reads through weight decay, and ran")
    multiplicity = rec.stats.multiplicity
    if declared.reduction is None and multiplicity is not None and len(multiplicity):
        # The hat read with the assumed reduction's factor; as the gates do, the smallest
        # share is one sample's, which gives the loss's factor and its reduction.
        unit = float(multiplicity.min())
        rec.stats.multiplicity = multiplicity / unit
        kappa = reduction_scale(ASSUMED_REDUCTION, 1, net.n_outputs) * unit
        rec.stats.reduction = reduction_named(
            "squared", kappa, float(rec.stats.multiplicity.sum()), net.n_outputs, 1e-9
        )
    rec.stats.dtype = target.dtype
    rec.queries = oracle.queries
    rec.stats.queries_by_phase = {**oracle.by_phase, **rec.stats.queries_by_phase}
    return rec


def _report_gated(stats: RunStats, result: GatedResult, target: Target, net: ReLUNetwork) -> None:
    """What the gated reading found, in the run's statistics."""
    n, d = net.n_inputs, net.n_outputs
    stats.warnings += result.warnings
    stats.multiplicity = result.multiplicity
    stats.input_error_bounds = result.input_bounds
    stats.target_error_bounds = result.target_bounds
    stats.packed = result.packed
    grid = result.grid
    if grid is not None and grid.per_feature:
        stats.pack_feature_grids = grid.describe()
    elif grid is not None:
        stats.pack_grid = [float(grid.step), grid.low, grid.high]
    stats.bits_limit = bits_limit(
        len(result.inputs), n, d, target.loss, target.dtype, grid, result.label_grid
    )
    stats.checks_failed = result.failed
    stats.stopped = result.stopped
    stats.reduction = result.reduction or reduction_named(
        target.loss, result.kappa, result.multiplicity.sum(), d, result.kappa_error
    )

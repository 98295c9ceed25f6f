"""Exact gates: every sample read at the client's own precision, step by step.

For ReLU networks with two or more hidden layers (biases or none). relu of a negative
number is exactly 0 in every floating-point format, so a second ReLU layer can switch
off every sample but those whose projection w·a lies in a window lo < w·a < hi, with no
residue:

    layer 1:  g_hi = relu(w·a − hi),  g_lo = relu(lo − w·a)     (both 0 inside the window)
              extra rows r_j: e_k and −e_k (a coordinate) or random directions (a norm)
    layer 2:  y = relu(γ + Σ_j μ_j relu(r_j·a) − Γ (g_hi + g_lo))
    deeper:   y passed on with weight 1;   output: z = y o  (o the attacker's vector)

A sample inside the window gives z = u o with u = γ + Σ_j μ_j relu(r_j·a); a sample
farther than u / Γ outside gives z = 0 exactly and adds its constant share.

The steps, each in its module: the client's format and loss at w = 0
(:mod:`.client`); the weight vectors of the gated network (:mod:`.router`,
:mod:`.queries`); isolation, windows of one sample each (:mod:`.chart` with biases,
:mod:`.homogeneous` without, both behind :class:`~.isolation.Isolation`); the readout of
what each window holds (:mod:`.readout`: :mod:`.labels`, :mod:`.coordinates`,
:mod:`.values`); its checks (:mod:`.checks`). This module runs them in order.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from lossrecon.attacks.chosen.chart import BiasedChart
from lossrecon.attacks.chosen.checks import read_twice
from lossrecon.attacks.chosen.client import Ask, Client, measure_client
from lossrecon.attacks.chosen.cuts import Cuts
from lossrecon.attacks.chosen.homogeneous import HomogeneousIsolation, homogeneous_fit
from lossrecon.attacks.chosen.isolation import Isolation, Reading, Readout, Scaled
from lossrecon.attacks.chosen.packing import PackGrid
from lossrecon.attacks.chosen.queries import MEMORY, GatedQueries
from lossrecon.attacks.chosen.readout import InputReadout
from lossrecon.attacks.chosen.router import GateRouter
from lossrecon.attacks.chosen.windows import Directions
from lossrecon.attacks.contract import EARLY_STOPS, stop_reason
from lossrecon.errors import AttackError, ConfigurationError
from lossrecon.network import ReLUNetwork
from lossrecon.oracle.protocol import ASSUMED_REDUCTION
from lossrecon.reconstruction import Stopped

__all__ = ["GatedResult", "ReadoutMaker", "read_gated"]

# What makes a readout for the gated queries (with the run's random draws).
ReadoutMaker = Callable[[GatedQueries, np.random.Generator], Readout]


@dataclass
class GatedResult:
    """What the gated reading recovered: inputs (M', n), labels (M', d) (squared loss) or
    one-hot classes (cross-entropy), multiplicities, a bound on the error of every input
    number (M', n) and label (M', d), the loss factor κ and its relative error, how many
    samples failed their check, and the share of each one's coordinates read packed on
    the grid the first samples showed (``grid``, None when they showed none; squared
    loss: ``label_grid``, the grid their labels were read packed on)."""

    inputs: np.ndarray
    targets: np.ndarray
    multiplicity: np.ndarray
    input_bounds: np.ndarray
    target_bounds: np.ndarray
    kappa: float
    kappa_error: float = 0.0
    packed: np.ndarray | None = None
    grid: PackGrid | None = None
    label_grid: PackGrid | None = None
    failed: int = 0
    warnings: list[str] = field(default_factory=list)
    reduction: str | None = None  # bias-free: the reduction the scale was set by
    # Bias-free: False where the reduction was assumed, or M estimated with samples
    # missed, so that every input and label may be off by one common factor.
    scale_known: bool = True
    stopped: Stopped | None = None  # why the run ended early, if it did


def read_gated(
    ask: Ask,
    net: ReLUNetwork,
    *,
    loss: str,
    dtype: str,
    rng: np.random.Generator,
    n_samples: int | None = None,
    digits: int | None = None,
    closed: np.ndarray | None = None,
    ceiling: float | None = None,
    pack: bool = True,
    reduction: str | None = None,
    readout: ReadoutMaker = InputReadout,
    told: Callable[[int], None] | None = None,
    memory: int = MEMORY,
) -> GatedResult:
    """Read every sample of the network's training set through exact gates.

    ``ask(W, phase)`` answers a (K, N) batch of weight vectors; ``loss`` is "squared" or
    "cross_entropy", ``dtype`` the client's arithmetic (its unit roundoff sets the chart's
    resolution and the error bounds); ``digits``, the significant digits the answers are
    rounded to, if they are; ``n_samples``, M when known, only speeds the chart; ``closed``,
    answers already had at w = 0 (they measure the noise), else asked; ``ceiling``, the
    value the client clips its loss at, if it does. With ``pack``, the coordinates of
    quantized data are read several to an answer once the first samples show their grid.
    Without biases (squared loss only) the inputs and labels come back in the scale
    ``reduction`` gives them (the protocol's assumed one when None: the answers cannot
    tell). ``readout(queries, rng)`` makes what reads each isolated sample (an MLP's
    input coordinates and label by default); isolation is the same whatever it reads.
    ``told(samples)`` hears how many samples are read and checked, as that grows.
    ``memory``: the bytes the weight vectors in flight may take (they are built and asked
    in blocks that fit).
    """
    notes: list[str] = []
    router = GateRouter(net)
    homogeneous = router.anchor is not None
    unfit = homogeneous_fit(loss, dtype) if homogeneous else None
    if unfit is not None:
        raise ConfigurationError(unfit)
    reduction_known = reduction is not None
    if homogeneous and reduction is None:
        notes.append(
            "without biases the loss scales inputs and labels together with its "
            f"reduction, which the answers cannot tell: {ASSUMED_REDUCTION!r} (the "
            "convention of an oracle that declares none) assumed, and the scale is not "
            "known (scale_known is False; give reduction= to fix it)"
        )
    client = measure_client(ask, net.n_params, loss, dtype, net.n_outputs, digits, ceiling, closed)
    queries = GatedQueries(ask, router, client, Directions(), memory)
    cuts = Cuts(queries, rng)
    isolation: Isolation
    if homogeneous:
        isolation = HomogeneousIsolation(
            cuts, n_samples, reduction or ASSUMED_REDUCTION, reduction_known, notes
        )
    else:
        isolation = BiasedChart(cuts, n_samples, pack, notes)
    # Without biases the inputs are read in the anchor's units, a / (u0·a), which lie on
    # no common grid: nothing is packed.
    read = readout(queries, rng)
    isolated = isolation.isolate()
    if isolated is None:
        return _nothing(net, notes)
    reading = isolation.verify(isolated, read(isolated, pack and not homogeneous))
    if told is not None:
        told(int(reading.ok.sum()))
    # From here on every sample of ``reading`` that passed its check is read: whatever
    # stops the mending, they are returned.
    stopped: Exception | None = None
    try:
        for better in isolation.mend(reading, read):
            reading = better
            if told is not None:
                told(int(reading.ok.sum()))
    except (*EARLY_STOPS, AttackError) as exc:
        stopped = exc
    result = _result(client, isolation.finish(isolated, reading), notes)
    if stopped is not None:
        result.stopped = stop_reason(stopped)
        notes.append(
            f"stopped early while reading failed windows again: {stopped}; the samples "
            "read and checked before are returned"
        )
    return result


def _result(client: Client, scaled: Scaled, notes: list[str]) -> GatedResult:
    """The samples that passed their check, each once."""
    reading: Reading = scaled.reading
    inputs, errors, labels, ok = reading.inputs, reading.errors, reading.labels, reading.ok
    failed = int((~ok).sum())
    if failed:
        notes.append(f"{failed} samples failed their check and are left out")
    twice = read_twice(reading)
    if twice.any():
        notes.append(
            f"{int(twice.sum())} samples sat exactly on a cut (the client rounds their "
            "projection onto it), so two windows held them: kept once"
        )
    ok = ok & ~twice
    return GatedResult(
        inputs[ok],
        labels[ok],
        reading.count[ok],
        errors[ok],
        reading.label_bounds[ok],
        scaled.kappa,
        kappa_error=client.answer_error,
        packed=reading.packed[ok],
        grid=reading.grid,
        label_grid=reading.label_grid,
        failed=failed,
        warnings=notes,
        reduction=scaled.reduction,
        scale_known=scaled.scale_known,
    )


def _nothing(net: ReLUNetwork, notes: list[str]) -> GatedResult:
    none = np.zeros((0, net.n_inputs)), np.zeros((0, net.n_outputs))
    return GatedResult(*none, np.zeros(0), *none, 0.0, warnings=notes)

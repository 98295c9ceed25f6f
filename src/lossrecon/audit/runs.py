"""The two audits: a Flower App run unchanged in Flower's simulation engine, and a model
with its data in hand. Each attacks every split it can read with the chosen-weights
attack (exact gates where the model allows), scores the result when the truth is
known, and measures the defenses on the user's own target."""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from lossrecon.attacks.chosen import chosen_weights
from lossrecon.attacks.chosen.queries import MEMORY
from lossrecon.attacks.contract import Progress
from lossrecon.audit.defenses import (
    Defense,
    DefenseResult,
    answer_defenses,
    honest_weights,
    measure,
)
from lossrecon.audit.flower_app import FlowerApp, InProcessClient
from lossrecon.audit.journals import ClientJournals
from lossrecon.audit.model import ModelSpec, load_model
from lossrecon.audit.results import AuditResult, SplitResult, score
from lossrecon.data import as_array, one_hot
from lossrecon.errors import ConfigurationError, LossreconError, OracleError
from lossrecon.guard import DEFAULT_ANSWERS, DEFAULT_BITS, loss_guard
from lossrecon.loading import load_object
from lossrecon.network import ReLUNetwork
from lossrecon.optional import require
from lossrecon.oracle.flower import (
    Channel,
    FlowerRounds,
    LegacyEvaluate,
    LegacyFit,
    MessageChannel,
    RoundSize,
    connected_nodes,
)
from lossrecon.oracle.protocol import LossConvention
from lossrecon.oracle.torch_oracle import TorchLossOracle, loss_module
from lossrecon.reconstruction import Reconstruction

__all__ = ["AuditEvents", "audit_flower", "audit_torch", "load_truth"]

Truth = dict[tuple[int, str], tuple[np.ndarray, np.ndarray]]
# What an audit tells as it goes, progress(what, fields): "round" {rounds, clients:
# {"1/train": (phase, queries, samples, waiting)}}, "split" {client, split, recovered}, "defense"
# {label, recall}; each split's attack reports as every attack does (a Progress).
AuditEvents = Callable[[str, dict[str, Any]], None]
# The losses ``audit torch`` takes by the names PyTorch users know, as the protocol's kinds.
_LOSS_NAMES = {"cross_entropy": "cross_entropy", "mse": "squared"}


def _attack(spec: ModelSpec, memory: int = MEMORY) -> Callable[..., Reconstruction]:
    """The attack every split gets: chosen weights with snapping; ``progress(phase,
    queries, samples)`` is told as it goes."""

    net = ReLUNetwork(spec.widths, activation=spec.activation, bias=spec.bias)

    def attack(oracle: object, progress: Progress | None = None) -> Any:
        with warnings.catch_warnings():  # recorded in stats.warnings
            warnings.simplefilter("ignore")
            return chosen_weights(oracle, net, snap=True, progress=progress, memory=memory)

    return attack


def _one_hot(targets: np.ndarray, classes: int) -> np.ndarray:
    """Class indices (M,) as one-hot rows (M, classes); 2-D targets pass through."""
    y = np.asarray(targets)
    return y.astype(np.float64) if y.ndim == 2 else one_hot(y.astype(int), classes)


def _client_labels(node_ids: Sequence[int]) -> dict[int, str]:
    """How the report names clients: "1", "2"... in the order of their node ids."""
    return {node: str(k + 1) for k, node in enumerate(sorted(set(node_ids)))}


def _flat(inputs: object) -> np.ndarray:
    x = as_array(inputs, "inputs")
    return x.reshape(len(x), -1)


def _check_data(spec: ModelSpec, x: np.ndarray, y: np.ndarray, kind: str) -> None:
    """Refuse, in one line and before any query, data the model cannot have been
    trained on: inputs of another width, labels out of its classes, targets of another
    shape than the loss takes."""
    n, d = spec.widths[0], spec.widths[-1]
    if x.shape[1] != n:
        raise ConfigurationError(
            f"the inputs have {x.shape[1]} features a sample (shape {x.shape}), the model takes {n}"
        )
    if len(y) != len(x):
        raise ConfigurationError(f"{len(x)} inputs but {len(y)} targets")
    if kind == "cross_entropy":
        classes = y.reshape(len(y), -1)
        if classes.shape[1] != 1 or np.any(classes != np.round(classes)):
            raise ConfigurationError(
                f"cross-entropy targets are class indices, shape (M,); got shape {y.shape}"
            )
        if classes.size and (classes.min() < 0 or classes.max() >= d):
            raise ConfigurationError(
                f"a class index is out of the model's {d} classes: the labels run from "
                f"{int(classes.min())} to {int(classes.max())}"
            )
    elif y.reshape(len(y), -1).shape[1] != d:
        hint = " (class indices? use --loss cross_entropy)" if y.ndim == 1 and d > 1 else ""
        raise ConfigurationError(
            f"squared-loss targets need the model's {d} outputs a sample, got shape {y.shape}{hint}"
        )


def load_truth(
    reference: str, search_path: Path | None = None
) -> Callable[[int, dict[str, Any]], dict[str, Any]]:
    """The truth an auditor passes: ``FILE.npz`` with arrays ``<partition>/<split>/inputs``
    and ``<partition>/<split>/targets``, or ``MODULE:ATTR``, a function of the partition
    id and the app's run config returning ``{split: (inputs, targets)}`` (the app's own
    data loader)."""
    if not reference.endswith(".npz"):
        function: Callable[[int, dict[str, Any]], dict[str, Any]] = load_object(
            reference, search_path, "--truth"
        )
        return function
    path = Path(reference)
    if not path.is_file():
        raise ConfigurationError(f"truth file {path} does not exist")
    with np.load(path) as data:
        arrays = {key: data[key] for key in data.files}

    def from_file(partition: int, run_config: dict[str, Any]) -> dict[str, Any]:
        out = {}
        for key, value in arrays.items():
            part, split, kind = ([*key.split("/"), "", ""])[:3]
            if part == str(partition) and kind == "inputs":
                out[split] = (value, arrays.get(f"{part}/{split}/targets"))
        return out

    return from_file


def _truths(
    loader: Callable[[int, dict[str, Any]], dict[str, Any]],
    partitions: int,
    run_config: dict[str, Any],
    classes: int,
) -> Truth:
    """{(partition, split): (inputs (m, n), one-hot or regression targets (m, d))}."""
    out: Truth = {}
    for partition in range(partitions):
        for split, (x, y) in loader(partition, dict(run_config)).items():
            out[partition, split] = (_flat(x), _one_hot(y, classes))
    return out


def _scored(result: SplitResult, truths: Truth) -> None:
    """Score ``result`` against the partition whose truth it matches best."""
    rec = result.reconstruction
    if rec is None:
        return
    best: tuple[float, int, dict[str, Any]] | None = None
    for (partition, split), (x, y) in truths.items():
        if split != result.split or x.shape[1] != rec.inputs.shape[1]:
            continue
        found = score(rec, x, y if rec.targets is not None else None)
        key = found["recall"] or 0.0
        if best is None or key > best[0]:
            best = (key, partition, found)
    if best is not None:
        result.matched_partition, result.score = best[1], best[2]


def _originals(result: AuditResult, truths: Truth) -> None:
    for split in result.splits:
        if split.matched_partition is not None:
            x, _ = truths[split.matched_partition, split.split]
            result.originals[split.client, split.split] = x


def audit_torch(
    model: Any,
    inputs: object,
    targets: object,
    *,
    loss: str = "cross_entropy",
    reduction: str = "mean",
    dtype: str | None = None,
    defenses: bool = True,
    progress: AuditEvents | None = None,
    memory: int = MEMORY,
) -> AuditResult:
    """Audit a model and its training data in hand: what the loss E(w) of ``model`` on
    (``inputs`` (M, ...), ``targets``: class indices (M,) for cross-entropy, (M, d) for
    MSE) leaks to an attacker who chooses w, and what each defense leaves."""
    spec = ModelSpec.of(model)
    x = _flat(inputs)
    y = np.asarray(targets)
    if loss not in _LOSS_NAMES:
        raise ConfigurationError(f"--loss must be one of {list(_LOSS_NAMES)}, got {loss!r}")
    if reduction not in ("mean", "sum"):
        raise ConfigurationError(f"--reduction must be mean or sum, got {reduction!r}")
    _check_data(spec, x, y, _LOSS_NAMES[loss])
    loss_fn = loss_module(_LOSS_NAMES[loss], reduction)

    def oracle(precision: str | None = dtype) -> TorchLossOracle:
        return TorchLossOracle(model, x, y, loss_fn, dtype=precision)

    plain = oracle()
    attack = _attack(spec, memory)
    start = time.perf_counter()
    split = SplitResult("local", "data", None, 0.0, num_examples=len(x))
    try:
        split.reconstruction = attack(plain)
    except LossreconError as exc:
        split.error = f"{type(exc).__name__}: {exc}"
    split.seconds = time.perf_counter() - start
    truth = (x, _one_hot(y, spec.widths[-1]) if loss == "cross_entropy" else _flat(y))
    if split.reconstruction is not None:
        with_targets = split.reconstruction.targets is not None
        split.score = score(split.reconstruction, truth[0], truth[1] if with_targets else None)
    if progress is not None:
        progress("split", {"client": "local", "split": "data", "recovered": split.recovered})
    result = AuditResult(
        target={
            "kind": "torch",
            "model": type(model).__name__,
            "widths": spec.widths,
            "bias": spec.bias,
            "dtype": plain.dtype,
            "loss": loss,
            "reduction": reduction,
            "samples": len(x),
        },
        splits=[split],
        truth=True,
        image_shape=_image_shape(inputs, spec),
        originals={("local", "data"): x},
    )
    if defenses:
        rows = answer_defenses(oracle)
        if plain.dtype != "float16":
            rows.append(Defense("float16", 16.0, "evaluated in float16", lambda: oracle("float16")))
        result.defense_target = "the model on its data"
        result.defenses = measure(
            rows,
            plain,
            attack,
            honest_weights(_parameters(model)),
            truth,
            _defense_progress(progress),
        )
    result.seconds = time.perf_counter() - start
    return result


def _image_shape(inputs: object, spec: ModelSpec) -> tuple[int, int] | None:
    shape = np.shape(np.asarray(inputs))
    if len(shape) >= 3 and shape[-1] * shape[-2] == spec.widths[0]:
        return int(shape[-2]), int(shape[-1])
    return spec.image_shape


def _parameters(model: Any) -> np.ndarray:
    torch = require("torch", "torch")
    return torch.nn.utils.parameters_to_vector(model.parameters()).detach().double().numpy()


def _defense_progress(progress: AuditEvents | None) -> Callable[..., None] | None:
    if progress is None:
        return None
    return lambda row: progress("defense", {"label": row.label, "recall": row.recall})


def _candidates(
    spec: ModelSpec, split: str, metrics: Mapping[str, str], train_config: dict[str, Any]
) -> list[Channel]:
    """The ways a split can be read, in the order tried: the Message API (Flower's
    current templates), then the legacy NumPyClient instructions."""
    metric = metrics.get(split)
    config = train_config if split == "train" else {}
    message = MessageChannel(split, spec.keys, metric=metric, config=config, dtype=spec.dtype)
    legacy = LegacyFit(metric or "train_loss", config) if split == "train" else LegacyEvaluate()
    return [message, legacy]


def readable_splits(
    connect: Callable[[Channel], InProcessClient], candidates: Sequence[Sequence[Channel]]
) -> tuple[dict[str, InProcessClient], list[str]]:
    """Before the first round: which way the app answers each split, if any — the
    first channel of each split's ``candidates`` that ``connect`` gets an answer
    through, in process. A split the app cannot answer is left out, with a note; an app
    that answers none is refused, naming why."""
    local: dict[str, InProcessClient] = {}
    notes: list[str] = []
    for options in candidates:
        failures = []
        for channel in options:
            try:
                local[channel.name] = connect(channel)
            except Exception as exc:  # the app's own code: any failure is an answer
                failures.append(f"{type(channel).__name__}: {type(exc).__name__}: {exc}")
                continue
            break
        else:
            split = options[0].name
            notes.append(
                f"the {split} split was not read: the app's ClientApp answers no {split} "
                f"message lossrecon can read ({'; '.join(failures)})"
            )
    if not local:
        raise ConfigurationError(" and ".join(notes) or "no split to read")
    return local, notes


def audit_flower(
    app_dir: str | Path,
    model: str,
    *,
    clients: int = 2,
    queries_per_round: int | None = None,
    splits: Sequence[str] = ("train", "evaluate"),
    metrics: Mapping[str, str] | None = None,
    train_config: dict[str, Any] | None = None,
    truth: str | None = None,
    defenses: bool = True,
    timeout: float = 120.0,
    journal: str | Path | None = None,
    progress: AuditEvents | None = None,
    log: str | Path | None = None,
    memory: int = MEMORY,
) -> AuditResult:
    """Audit a Flower App: run its ClientApp unchanged on ``clients`` SuperNodes of
    Flower's simulation engine against lossrecon's malicious ServerApp, read every
    split in ``splits`` through its channel (evaluate: ``eval_loss``; train: the
    learning rate zeroed by ``train_config``, ``train_loss``), and measure the defenses
    on the first client's smallest split, in process.

    ``model`` names the app's model class or factory (``package.module:Net``), as the
    server of a real federation knows it; ``truth`` (``FILE.npz`` or
    ``module:function``, see :func:`load_truth`) scores the result. With ``journal``
    (a directory), every answer is kept there and a re-run after an interruption
    replays each client's answers instead of asking them again
    (:mod:`lossrecon.audit.journals`). With ``log`` (a file), what Flower and Ray print
    goes there instead of the console.
    """
    app = FlowerApp.load(app_dir)
    spec = ModelSpec.of(load_model(model, app.directory))
    metrics = dict(metrics or {})
    train_config = {"lr": 0.0} if train_config is None else dict(train_config)
    convention = LossConvention(dtype=spec.dtype)  # type: ignore[arg-type]

    def in_process(channel: Channel, mod: Any = None) -> InProcessClient:
        return InProcessClient(
            app, 0, clients, channel, spec.layout.arrays, spec.layout.n_params, convention, mod=mod
        )

    local, notes = readable_splits(
        in_process,
        [_candidates(spec, split, metrics, train_config) for split in splits],
    )
    channels = [client.channel for client in local.values()]

    attack = _attack(spec, memory)
    journals = None if journal is None else ClientJournals(journal)
    replayed: dict[tuple[int, str], int] = {}
    running: dict[tuple[int, str], tuple[str, int, int]] = {}  # phase, queries, samples

    attack_client = _journaled(attack, journals, running, replayed)

    results: dict[tuple[int, str], Reconstruction | Exception] = {}
    state: dict[str, Any] = {
        "rounds": 0,
        "clients": [],
        "round_size": RoundSize(queries_per_round),
    }

    def on_round(rounds: int, flower_clients: list[Any]) -> None:
        state["rounds"] = rounds
        if progress is not None:
            progress("round", {"rounds": rounds, "clients": _phases(flower_clients, running)})

    def server_main(grid: Any, context: Any) -> None:
        nodes = connected_nodes(grid, clients, timeout)[:clients]
        rounds = FlowerRounds(
            grid,
            nodes,
            spec.widths,
            bias=spec.bias,
            loss=None,
            reduction=None,
            dtype=spec.dtype,
            timeout=timeout,
            queries_per_round=queries_per_round,
            channels=channels,
            on_round=on_round,
        )
        state["clients"], state["round_size"] = rounds.clients, rounds.round_size
        results.update(rounds.run(attack_client))

    start = time.perf_counter()
    app.simulate(server_main, clients, None if log is None else Path(log))
    splits_out = _split_results(state["clients"], results, replayed)
    result = AuditResult(
        target={
            "kind": "flower",
            "app": str(app.directory),
            "clientapp": app.clientapp,
            "model": model,
            "widths": spec.widths,
            "bias": spec.bias,
            "dtype": spec.dtype,
            "clients": clients,
            "queries_per_round": queries_per_round or state["round_size"].describe(),
            "splits": [c.name for c in channels],
            "channels": [c.describe() for c in channels],
        },
        splits=splits_out,
        rounds=state["rounds"],
        image_shape=spec.image_shape,
        notes=notes,
    )
    truths: Truth = {}
    if truth is not None:
        loader = load_truth(truth, app.directory)
        truths = _truths(loader, clients, app.run_config, spec.widths[-1])
        for item in splits_out:
            _scored(item, truths)
        result.truth = True
        _originals(result, truths)
    if defenses and local:
        result.defense_target, result.defenses = _defended(
            spec, local, in_process, truths, splits_out, attack, progress
        )
    result.seconds = time.perf_counter() - start
    return result


def _journaled(
    attack: Callable[..., Reconstruction],
    journals: ClientJournals | None,
    running: dict[tuple[int, str], tuple[str, int, int]],
    replayed: dict[tuple[int, str], int],
) -> Callable[[Any], Reconstruction]:
    """The attack on one client's oracle, through its journal where there is one (the
    answers it replayed counted in ``replayed``), its progress kept in ``running``."""

    def attack_client(oracle: Any) -> Reconstruction:
        def told(phase: str, queries: int, samples: int) -> None:
            running[oracle.key] = (phase, queries, samples)

        if journals is None:
            return attack(oracle, told)
        journaled = journals.open(oracle, oracle.key[1], oracle.num_examples)
        try:
            return attack(journaled, told)
        finally:
            replayed[oracle.key] = journaled.replayed

    return attack_client


def _defended(
    spec: ModelSpec,
    local: dict[str, InProcessClient],
    in_process: Callable[..., InProcessClient],
    truths: Truth,
    read: list[SplitResult],
    attack: Callable[..., Reconstruction],
    progress: AuditEvents | None,
) -> tuple[str, list[DefenseResult]]:
    """The defenses measured on the first client's smallest split, in process: where,
    and what each one left."""
    target = min(local, key=lambda name: local[name].num_examples or 0)
    channel = local[target].channel
    rows = answer_defenses(lambda: in_process(channel))
    rows.append(_local_dp(lambda mod: in_process(channel, mod)))
    rows.append(_guarded(lambda mod: in_process(channel, mod)))
    mine = truths.get((0, target))
    half = _half_precision(spec, mine, [s for s in read if s.split == target])
    if half is not None:
        rows.append(half)
    defended = measure(
        rows,
        local[target],
        attack,
        honest_weights(_parameters(spec.model)),
        mine,
        _defense_progress(progress),
    )
    return f"client partition 0, {target} split, in process", defended


def _phases(
    flower_clients: list[Any], running: dict[tuple[int, str], tuple[str, int, int]]
) -> dict[str, tuple[str, int, int, int]]:
    """Each client's split as the report names it ("1/train"), with its attack's phase,
    queries answered and samples read so far, and the queries of its current batch
    still waiting for rounds (a phase that asks one large batch shows it going)."""
    labels = _client_labels([c.node_id for c in flower_clients])
    return {
        f"{labels[c.node_id]}/{c.channel.name}": (
            "done" if c.done else running.get(c.key, ("starting", 0, 0))[0],
            *running.get(c.key, ("", 0, 0))[1:],
            0 if c.done else len(c.queue),
        )
        for c in flower_clients
    }


def _split_results(
    flower_clients: list[Any],
    results: dict[tuple[int, str], Reconstruction | Exception],
    replayed: dict[tuple[int, str], int],
) -> list[SplitResult]:
    """What each client's split gave (its reconstruction, or the error that stopped its
    attack), train before evaluate, client by client."""
    splits: list[SplitResult] = []
    labels = _client_labels([c.node_id for c in flower_clients])
    for flower_client in flower_clients:
        found = results.get(flower_client.key, OracleError("the server stopped first"))
        item = SplitResult(
            labels[flower_client.node_id],
            flower_client.channel.name,
            None,
            flower_client.seconds or 0.0,
            rounds=flower_client.rounds_used,
            num_examples=flower_client.num_examples,
            node_id=flower_client.node_id,
            replayed=replayed.get(flower_client.key, 0),
        )
        if isinstance(found, Reconstruction):
            item.reconstruction = found
            if found.stats.stopped == "oracle":  # the client was lost mid-attack
                item.error = found.stats.stop_note()
        else:
            item.error = f"{type(found).__name__}: {found}"
        splits.append(item)
    splits.sort(key=lambda item: (int(item.client), item.split != "train"))
    return splits


def _half_precision(
    spec: ModelSpec, truth: tuple[np.ndarray, np.ndarray] | None, read: list[SplitResult]
) -> Defense | None:
    """The client's loss computed in float16: a replica of it — the model, the split's
    true data, the loss kind and reduction the attack read off the client's answers — in
    a ``TorchLossOracle`` (an app's own code cannot be switched to float16 from outside).
    None without the truth, or when no split's kind was read."""
    stats = [s.reconstruction.stats for s in read if s.reconstruction is not None]
    known = [
        (st.loss, st.reduction)
        for st in stats
        if st.loss is not None and st.reduction is not None and st.reduction in ("mean", "sum")
    ]
    if truth is None or not known or spec.dtype == "float16":
        return None
    x, y = truth
    kind, reduction = known[0]
    targets = y.argmax(1) if kind == "cross_entropy" else y
    loss_fn = loss_module(kind, reduction)
    return Defense(
        "float16",
        16.0,
        "evaluated in float16 (a replica on the true data)",
        lambda: TorchLossOracle(spec.model, x, targets, loss_fn, dtype="float16"),
    )


def _local_dp(client: Callable[[Any], InProcessClient]) -> Defense:
    """Flower's LocalDpMod on the client (clipping norm 1, epsilon 1, delta 1e-5)."""
    mod = require("flwr.client.mod", "flower")
    return Defense(
        "LocalDpMod",
        1.0,
        "LocalDpMod (clip 1, epsilon 1, delta 1e-5)",
        lambda: client(mod.LocalDpMod(clipping_norm=1.0, sensitivity=1.0, epsilon=1.0, delta=1e-5)),
    )


def _guarded(client: Callable[[Any], InProcessClient]) -> Defense:
    """lossrecon's own guard on the client, at its default setting."""
    return Defense(
        "guard",
        float(DEFAULT_ANSWERS),
        f"lossrecon guard ({DEFAULT_ANSWERS} answers, {DEFAULT_BITS} bits a metric)",
        lambda: client(loss_guard(max_answers=DEFAULT_ANSWERS, bits=DEFAULT_BITS)),
    )

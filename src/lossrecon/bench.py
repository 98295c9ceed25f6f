"""``lossrecon bench``: attacks x data sets x defenses in one run, as JSON, a one-page
Markdown report and PNG plots.

What it measures (each row one attack run, scored by :func:`~lossrecon.evaluate`):

- the three attacks side by side on the same oracles: chosen weights, blind, and the
  loss-matching baseline on the chosen-weights attack's query budget;
- the chosen-weights attack behind every defense (noise, rounding, float32/float16,
  softplus, clipping) at several strengths: recall and precision;
- how queries grow with M and n.

Figures: recall against each defense's strength, queries against M (n + 1), a loss slice
along a line with the nonsmooth points found on it, digits beside their reconstructions.
"""

from __future__ import annotations

import json
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from lossrecon.attacks import blind, chosen_weights, loss_matching
from lossrecon.data import Dataset, load_dataset, synthetic
from lossrecon.errors import AttackError, TimeBudgetExceeded
from lossrecon.evaluation import evaluate, match
from lossrecon.geometry import read_line
from lossrecon.network import ReLUNetwork
from lossrecon.oracle import (
    ClippedLoss,
    NoisyLoss,
    NumpyLossOracle,
    OracleWrapper,
    RoundedLoss,
    SoftplusLoss,
)
from lossrecon.plots import plot_image_pairs
from lossrecon.reconstruction import Reconstruction

__all__ = ["BenchSizes", "run_bench"]

Say = Callable[[str], None]  # a line of news as the bench goes
Row = dict[str, Any]  # one attack run, scored

_DEFENDED_BUDGET = 20


class _TimeLimited(OracleWrapper):
    """An oracle that refuses to answer after ``seconds`` of wall time."""

    def __init__(self, oracle: object, seconds: float) -> None:
        super().__init__(oracle)
        self.seconds = seconds
        self.deadline = time.perf_counter() + seconds

    def __call__(self, W: np.ndarray) -> np.ndarray:
        if time.perf_counter() > self.deadline:
            raise TimeBudgetExceeded(self.seconds)
        return super().__call__(W)


@dataclass(frozen=True)
class BenchSizes:
    """How big the bench's problems are: ``quick`` runs in about a minute."""

    digits: int
    small: tuple[int, int]  # (M, n) of the network all three attacks can take
    grid_m: tuple[int, ...]
    grid_n: tuple[int, ...]
    baseline_steps: int
    seconds: float  # wall time a defended attack may take

    @classmethod
    def of(cls, quick: bool) -> BenchSizes:
        if quick:
            return cls(60, (10, 6), (10, 20, 40), (4, 8, 16), 300, 5.0)
        return cls(300, (20, 8), (25, 50, 100, 200), (8, 16, 32, 64), 2000, 60.0)


def _row(
    attack: str, data: Dataset, widths: list[int], run: Callable[[], Reconstruction], **extra: Any
) -> Row:
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            rec = run()
        except AttackError as exc:
            return {
                "attack": attack,
                "data": data.name,
                "widths": widths,
                **extra,
                "error": str(exc) or type(exc).__name__,
                "recall": 0.0,
                "precision": None,
                "queries": None,
            }
    report = evaluate(rec, data.inputs, data.targets)
    loose = evaluate(rec, data.inputs, data.targets, tau=1e-3)
    return {
        "attack": attack,
        "data": data.name,
        "widths": widths,
        **extra,
        "M": data.n_samples,
        "n": data.n_features,
        "recall": report["recall"],
        "precision": report["precision"],
        "recall@1e-3": loose["recall"],
        "precision@1e-3": loose["precision"],
        "input_rel_error_median": report["input_rel_error_median"],
        "queries": rec.queries,
        "floor_ratio": report["floor_ratio"],
        "bits_limit": rec.stats.bits_limit,
        "bits_ratio": rec.queries / rec.stats.bits_limit if rec.stats.bits_limit else None,
        "stopped": rec.stats.stopped,
        "seconds": time.perf_counter() - start,
        "_rec": rec,
    }


def _side_by_side(sizes: BenchSizes, say: Say) -> list[Row]:
    m, n = sizes.small
    widths = [n, 6, 4, 2]
    data = synthetic(m, n, 2, random_state=0)
    net = ReLUNetwork(widths)
    digits = load_dataset("digits", n_samples=sizes.digits, random_state=0)
    digit_widths = [64, 16, 8, 10]
    rows = []
    say("side by side: chosen weights")
    oracle = NumpyLossOracle(net, data.inputs, data.targets)
    chosen = _row("chosen", data, widths, lambda: chosen_weights(oracle, widths))
    rows.append(chosen)
    say("side by side: blind")
    rows.append(_row("blind", data, widths, lambda: blind(oracle, exact=True)))
    say("side by side: loss-matching baseline")
    rows.append(
        _row(
            "baseline",
            data,
            widths,
            lambda: loss_matching(
                oracle,
                widths,
                budget=chosen["queries"],
                n_samples=m,
                adam_steps=sizes.baseline_steps,
            ),
        )
    )
    say("side by side: chosen weights on digits")
    digit_oracle = NumpyLossOracle(ReLUNetwork(digit_widths), digits.inputs, digits.targets)
    rows.append(
        _row("chosen", digits, digit_widths, lambda: chosen_weights(digit_oracle, digit_widths))
    )
    return rows


def _defenses(sizes: BenchSizes, say: Say) -> list[Row]:
    """The chosen-weights attack behind every defense, with both of its methods: the hat
    on a bias-free network, exact gates on the same widths with biases."""
    m, n = sizes.small
    widths = [n, 6, 4, 2]
    data = synthetic(m, n, 2, random_state=1)
    rows = []
    for net in (ReLUNetwork(widths), ReLUNetwork(widths, bias=True)):
        rows += _defended(net, data, sizes, say)
    return rows


def _defended(net: ReLUNetwork, data: Dataset, sizes: BenchSizes, say: Say) -> list[Row]:
    plain = NumpyLossOracle(net, data.inputs, data.targets)
    losses = plain(net.random_weights(64, random_state=0))
    settings: list[tuple[str, float, Callable[[], object]]] = [("none", 0.0, lambda: plain)]
    for sigma in (1e-14, 1e-12, 1e-10, 1e-8, 1e-6, 1e-4, 1e-2):
        settings.append(("noise", sigma, partial(NoisyLoss, plain, sigma, random_state=0)))
    for digits in (15, 13, 11, 9, 7, 5, 4):
        settings.append(("rounding", digits, partial(RoundedLoss, plain, digits)))
    for temperature in (1e-12, 1e-9, 1e-6, 1e-3):
        smooth = partial(SoftplusLoss, net, data.inputs, data.targets, temperature)
        settings.append(("softplus", temperature, smooth))
    for bits, dtype in ((64, "float64"), (32, "float32"), (16, "float16")):
        low = partial(NumpyLossOracle, net, data.inputs, data.targets, dtype=dtype)
        settings.append(("precision", bits, low))
    # Clipping at quantiles of the loss at random weights: the ceiling in that unit.
    for quantile in (1.0, 0.99, 0.9, 0.5):
        ceiling = float(np.quantile(losses, quantile))
        settings.append(("clipping", quantile, partial(ClippedLoss, plain, ceiling)))
    # Behind a defense an attack may spend far more than without one (noise close to the
    # reader's tolerance keeps it refining): it gets _DEFENDED_BUDGET times its undefended
    # queries and sizes.seconds of wall time; a run that spends either is scored on what
    # it recovered before (its row says "stopped").
    method = "gates" if net.bias else "hat"
    budget = _DEFENDED_BUDGET * chosen_weights(plain, net, method=method).queries
    rows = []
    for name, strength, make in settings:
        say(f"defense {name} {strength:g} ({method})")

        def run(make: Callable[[], object] = make) -> Reconstruction:
            limited = _TimeLimited(make(), sizes.seconds)
            return chosen_weights(limited, net, budget=budget, method=method)

        row = _row("chosen", data, list(net.widths), run, defense=name, strength=strength)
        rows.append({**row, "method": method, "bias": net.bias})
    return rows


def _growth(sizes: BenchSizes, say: Say) -> list[Row]:
    rows = []
    for m in sizes.grid_m:
        for n in sizes.grid_n:
            say(f"growth M={m} n={n}")
            widths = [n, 8, 4, 2]
            data = synthetic(m, n, 2, random_state=2)
            oracle = NumpyLossOracle(ReLUNetwork(widths), data.inputs, data.targets)
            rows.append(_row("chosen", data, widths, partial(chosen_weights, oracle, widths)))
    return rows


def _figures(out: Path, side: list[Row], defenses: list[Row], growth: list[Row]) -> list[str]:
    from matplotlib.figure import Figure

    names = []
    panels = [
        ("noise", "relative noise σ", True),
        ("rounding", "significant digits", False),
        ("softplus", "softplus temperature", True),
        ("precision", "bits of the float format", False),
        ("clipping", "ceiling (quantile of E at random w)", False),
    ]
    figure = Figure(figsize=(3.7 * len(panels), 3.2))
    axes = figure.subplots(1, len(panels))
    for axis, (name, label, logx) in zip(axes, panels, strict=True):
        for method, marker in (("hat", "o"), ("gates", "^")):
            rows = [r for r in defenses if r.get("defense") == name and r["method"] == method]
            x = [r["strength"] for r in rows]
            axis.plot(x, [r["recall"] for r in rows], f"{marker}-", label=f"{method}: recall")
            precision = [r["precision"] if r["precision"] is not None else np.nan for r in rows]
            axis.plot(x, precision, f"{marker}:", alpha=0.6, label=f"{method}: precision")
        if logx:
            axis.set_xscale("log")
        else:
            axis.invert_xaxis()
        axis.set_ylim(-0.05, 1.05)
        axis.set_xlabel(label)
        axis.set_title(f"defense: {name}", fontsize=9)
    axes[0].legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(out / "defenses.png", dpi=110)
    names.append("defenses.png")

    figure = Figure(figsize=(5, 3.4))
    axis = figure.subplots()
    unknowns = np.array([r["M"] * (r["n"] + 1) for r in growth])
    axis.loglog(unknowns, [r["queries"] for r in growth], "o", label="chosen weights")
    blind_rows = [r for r in side if r["attack"] == "blind" and r["queries"]]
    axis.loglog(
        [r["M"] * (r["n"] + 1) for r in blind_rows],
        [r["queries"] for r in blind_rows],
        "^",
        label="blind",
    )
    line = np.array([unknowns.min(), unknowns.max()])
    axis.loglog(line, line, "k:", label="information limit M (n + 1)")
    axis.set_xlabel("M (n + 1)")
    axis.set_ylabel("queries")
    axis.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(out / "queries.png", dpi=110)
    names.append("queries.png")

    names.append(_loss_slice(out / "loss_slice.png"))

    digits_row = next(r for r in side if r["data"].startswith("digits"))
    digits = load_dataset("digits", n_samples=digits_row["M"], random_state=0)
    rec = digits_row["_rec"]
    found = match(rec.inputs, digits.inputs, tau=1e-6)
    order = np.argsort(found.truth)[:12]
    plot_image_pairs(
        digits.inputs[found.truth[order]], rec.inputs[found.recovered[order]], out / "digits.png"
    )
    names.append("digits.png")
    return names


def _loss_slice(path: Path) -> str:
    """E along one first-layer weight of a small network, with the kinks read on it."""
    from matplotlib.figure import Figure

    data = synthetic(8, 4, 1, random_state=3)
    net = ReLUNetwork([4, 5, 3, 1])
    oracle = NumpyLossOracle(net, data.inputs, data.targets)
    base = np.random.default_rng(3).normal(size=net.n_params)
    direction = np.zeros(net.n_params)
    direction[0] = 1.0
    reading = read_line(lambda t: oracle(base + t[:, None] * direction), -4.0, 4.0)
    t = np.linspace(-4.0, 4.0, 1201)
    figure = Figure(figsize=(6, 3.2))
    axis = figure.subplots()
    axis.plot(t, oracle(base + t[:, None] * direction), lw=1.2, label="E(w + t e_1)")
    kinks = np.array([k.t for k in reading.kinks])
    axis.plot(
        kinks, oracle(base + kinks[:, None] * direction), "rv", label="nonsmooth points found"
    )
    axis.set_xlabel("t")
    axis.set_ylabel("loss")
    axis.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    return path.name


def _fmt(value: object, spec: str = ".3g") -> str:
    return "—" if value is None else format(value, spec) if isinstance(value, float) else str(value)


def _pairs(defenses: list[Row]) -> list[tuple[Row, Row]]:
    """(hat row, gates row) for every defense setting, in order."""
    gates = {(r["defense"], r["strength"]): r for r in defenses if r["method"] == "gates"}
    return [
        (r, gates[r["defense"], r["strength"]])
        for r in defenses
        if r["method"] == "hat" and (r["defense"], r["strength"]) in gates
    ]


def _where_defenses_help(defenses: list[Row]) -> list[str]:
    """One sentence per defense: the weakest strength at which each method's recall
    falls below one half, or that it never does in the range tried."""
    lines = []
    for name in ("noise", "rounding", "softplus", "precision", "clipping"):
        said = []
        for method in ("hat", "gates"):
            rows = [r for r in defenses if r["defense"] == name and r["method"] == method]
            stopped = [r for r in rows if r["recall"] < 0.5]
            if stopped:
                said.append(f"{method} below recall 0.5 from {stopped[0]['strength']:g}")
            else:
                said.append(f"{method} keeps recall >= 0.5 at every strength tried")
        lines.append(f"- **{name}**: " + "; ".join(said) + ".")
    return lines


def _markdown(
    side: list[Row], defenses: list[Row], growth: list[Row], figures: list[str], quick: bool
) -> str:
    lines = [
        f"# lossrecon bench{' (quick)' if quick else ''}",
        "",
        "## Three attacks on the same oracles",
        "",
        "| attack | data | widths | M | n | recall | precision | input error | queries "
        "| floor_ratio | seconds |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in side:
        lines.append(
            f"| {r['attack']} | {r['data']} | {'-'.join(map(str, r['widths']))} | {r.get('M')} "
            f"| {r.get('n')} | {_fmt(r['recall'])} | {_fmt(r['precision'])} "
            f"| {_fmt(r.get('input_rel_error_median'), '.1e')} | {_fmt(r['queries'])} "
            f"| {_fmt(r.get('floor_ratio'))} | {_fmt(r.get('seconds'), '.1f')} |"
        )
    lines += [
        "",
        "The baseline gets the chosen-weights attack's query budget.",
        "",
        "## Chosen weights behind defenses",
        "",
        "Both methods on the same data and widths: the hat on the bias-free network, "
        "exact gates with biases. Recall and precision at tau = 1e-6 (1 − cos, a relative "
        "error of about 1.4e-3), and recall at 1e-3 (about 4.5e-2). "
        f"Each run may spend {_DEFENDED_BUDGET} times the undefended query count and a "
        "fixed wall time; 'stopped' says why a run returned early (its query budget or "
        "wall time spent: 'budget'; kinks it could not read: 'unreadable'), and it is "
        "scored on what it had recovered by then.",
        "",
        "| defense | strength | hat: recall | @1e-3 | precision | queries | stopped "
        "| gates: recall | @1e-3 | precision | queries | stopped |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for hat, gates in _pairs(defenses):
        cells = [f"| {hat['defense']} | {hat['strength']:g} "]
        for r in (hat, gates):
            spent = "failed" if "error" in r else _fmt(r["queries"])
            cells.append(
                f"| {_fmt(r['recall'])} | {_fmt(r.get('recall@1e-3'))} | {_fmt(r['precision'])} "
                f"| {spent} | {r.get('stopped') or '—'} "
            )
        lines.append("".join(cells) + "|")
    lines += ["", *_where_defenses_help(defenses)]
    limited = [r for r in defenses if r.get("bits_limit")]
    if limited:
        lines += [
            "",
            "Exact gates against the bits limit — the fewest queries any attack could read "
            "the recovered data in (their bits over one answer's mantissa) — and the "
            "queries spent over it:",
            "",
            "| defense | strength | queries | bits limit | queries / bits limit |",
            "|---|---|---|---|---|",
        ]
        for r in limited:
            lines.append(
                f"| {r['defense']} | {r['strength']:g} | {_fmt(r['queries'])} "
                f"| {r['bits_limit']:.0f} | {r['bits_ratio']:.2f} |"
            )
    lines += [
        "",
        "## Growth with M and n (chosen weights)",
        "",
        "| M | n | queries | floor_ratio |",
        "|---|---|---|---|",
    ]
    for r in growth:
        lines.append(f"| {r['M']} | {r['n']} | {r['queries']} | {r['floor_ratio']:.3f} |")
    lines += ["", "## Figures", ""] + [f"![{name}]({name})" for name in figures]
    return "\n".join(lines) + "\n"


def run_bench(out: str | Path, quick: bool = False, say: Say | None = None) -> dict[str, Any]:
    """Run everything, write bench.json, report.md and the PNGs into ``out``; return the
    results."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    say = say or (lambda message: None)
    sizes = BenchSizes.of(quick)
    side = _side_by_side(sizes, say)
    defenses = _defenses(sizes, say)
    growth = _growth(sizes, say)
    say("figures")
    figures = _figures(out, side, defenses, growth)
    results = {
        "quick": quick,
        "side_by_side": [{k: v for k, v in r.items() if k != "_rec"} for r in side],
        "defenses": [{k: v for k, v in r.items() if k != "_rec"} for r in defenses],
        "growth": [{k: v for k, v in r.items() if k != "_rec"} for r in growth],
        "figures": figures,
    }
    (out / "bench.json").write_text(json.dumps(results, indent=2))
    (out / "report.md").write_text(_markdown(side, defenses, growth, figures, quick))
    return results

"""The audit's report, in a directory: ``report.json`` (every number), ``report.html``
(one self-contained page: the verdict, per client and split what was recovered and at
what cost, originals beside reconstructions, error bounds, the defense table and a plot
of recall against each defense's strength, figures inline) and one
``client-<id>-<split>.npz`` per client and split, in ``Reconstruction.save``'s format.

Every number on the page is rendered by :func:`cell` from the JSON, with a ``data-key``
naming where in ``report.json`` it comes from, so a test can check the two agree.
"""

from __future__ import annotations

import base64
import html
import io
import json
from pathlib import Path
from typing import Any

import numpy as np

from lossrecon.audit.results import AuditResult
from lossrecon.plots import image_pairs_figure, recall_figure

__all__ = ["cell", "number_text", "write_report"]

_STYLE = """
body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;color:#222}
h1{font-size:1.5em} h2{font-size:1.15em;margin-top:1.8em;border-bottom:1px solid #ccc}
.verdict{font-size:1.15em;padding:.8em 1em;background:#fdf0ef;border-left:4px solid #c0392b}
table{border-collapse:collapse;font-size:.85em;margin:.5em 0}
td,th{border:1px solid #ddd;padding:.25em .55em;text-align:right}
th{background:#f4f4f4} td.text,th.text{text-align:left}
img{max-width:100%} .note{color:#555;font-size:.85em}
"""


def duration_text(seconds: float) -> str:
    """A wall time as people say it: ``42 s``, ``19 min 16 s``, ``2 h 05 min``."""
    whole = round(seconds)
    if whole < 60:
        return f"{seconds:.3g} s" if seconds < 10 else f"{whole} s"
    minutes, secs = divmod(whole, 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def number_text(value: Any, percent: bool = False) -> str:
    """How the page shows a number: integers (and floats of 1,000 or more) with
    thousands separators, shares as percentages to 0.1%, other floats to 3 significant
    digits; None as a dash."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if percent:
        return f"{100 * value:.1f}%"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.3g}"
    return str(value)


def cell(value: Any, key: str, percent: bool = False, tag: str = "td") -> str:
    """One table cell showing ``value``, tagged with its ``report.json`` path ``key``."""
    text = html.escape(number_text(value, percent))
    kind = ' class="text"' if isinstance(value, str) else ""
    return f'<{tag}{kind} data-key="{key}">{text}</{tag}>'


def _png(figure: Any) -> str:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110)
    data = base64.b64encode(buffer.getvalue()).decode()
    return f'<img alt="figure" src="data:image/png;base64,{data}">'


_SPLIT_COLUMNS = [
    ("client", "client", False),
    ("split", "split", False),
    ("num_examples", "examples", False),
    ("recovered", "recovered", False),
    ("queries", "queries", False),
    ("rounds", "rounds", False),
    ("seconds", "wall time (s)", False),
]
_SCORE_COLUMNS = [
    ("recall", "recall @1e-6", True),
    ("exact", "exact", True),
    ("classes", "classes right", True),
    ("input_rel_error_median", "median rel. error", False),
]
_READ_COLUMNS = [
    ("client", "client", False),
    ("split", "split", False),
    ("method", "method", False),
    ("loss", "loss read", False),
    ("dtype", "arithmetic read", False),
    ("reduction", "reduction read", False),
    ("grid", "grid snapped to", False),
    ("median_error_bound", "median error bound", False),
    ("max_error_bound", "max error bound", False),
    ("bits_limit", "bits limit (queries)", False),
    ("stopped", "stopped early", False),
    ("replayed", "answered from the journal", False),
]


def _table(data: dict[str, Any], columns: list[Any], scored: list[Any]) -> str:
    titles = [title for _, title, _ in columns + scored]
    head = "".join(f"<th>{html.escape(title)}</th>" for title in titles)
    rows = []
    for i, split in enumerate(data["splits"]):
        cells = [cell(split[key], f"splits.{i}.{key}", pct) for key, _, pct in columns]
        score = split["score"] or {}
        cells += [cell(score.get(k), f"splits.{i}.score.{k}", pct) for k, _, pct in scored]
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><tr>{head}</tr>{''.join(rows)}</table>"


def _splits_table(data: dict[str, Any]) -> str:
    """What each split gave away (scored when the truth is known), then how it was read."""
    out = _table(data, _SPLIT_COLUMNS, _SCORE_COLUMNS if data["truth"] else [])
    out += "<p>How the attack read each split:</p>" + _table(data, _READ_COLUMNS, [])
    errors = [
        f"<li>client {html.escape(s['client'])}, {html.escape(s['split'])}: "
        f"{html.escape(s['error'])}</li>"
        for s in data["splits"]
        if s["error"]
    ]
    if errors:
        out += f"<p>Errors:</p><ul>{''.join(errors)}</ul>"
    return out


def _pairs(result: AuditResult) -> str:
    """Originals beside reconstructions, per client and split: images when the inputs
    are image-shaped, else a table of the first samples' first features."""
    parts = []
    for split in result.splits:
        rec = split.reconstruction
        if rec is None or rec.n_samples == 0:
            continue
        title = f"client {split.client}, {split.split} split"
        originals = result.originals.get((split.client, split.split))
        shown = rec.inputs[:12]
        if originals is not None:
            nearest = [int(np.argmin(np.max(np.abs(originals - x), axis=1))) for x in shown]
            reference = originals[nearest]
        else:
            reference = None
        parts.append(f"<h3>{html.escape(title)}</h3>")
        if result.image_shape is not None:
            label = "originals (top) and reconstructions (bottom)"
            if reference is None:
                label = "reconstructions (no truth given)"
            figure = image_pairs_figure(reference, shown, result.image_shape, label)
            parts.append(_png(figure))
        else:
            parts.append(_sample_table(shown[:5], None if reference is None else reference[:5]))
    return "".join(parts)


def _sample_table(shown: np.ndarray, reference: np.ndarray | None) -> str:
    features = min(shown.shape[1], 8)
    head = "".join(f"<th>x{j}</th>" for j in range(features))
    rows = []
    for k, x in enumerate(shown):
        if reference is not None:
            values = "".join(f"<td>{v:.6g}</td>" for v in reference[k, :features])
            rows.append(f'<tr><td class="text">original</td>{values}</tr>')
        values = "".join(f"<td>{v:.6g}</td>" for v in x[:features])
        rows.append(f'<tr><td class="text">recovered</td>{values}</tr>')
    return f'<table><tr><th class="text"></th>{head}</tr>{"".join(rows)}</table>'


def _defenses(data: dict[str, Any]) -> str:
    if not data["defenses"]:
        return "<p>No defense was measured.</p>"
    columns = [
        ("label", "defense", False),
        ("recall", "recall @1e-6", True),
        ("recall_coarse", "recall @1e-3", True),
        ("recovered", "samples recovered", False),
        ("queries", "queries", False),
        ("loss_change", "cost: change of the reported loss", False),
    ]
    head = "".join(f"<th>{html.escape(title)}</th>" for _, title, _ in columns)
    rows = []
    for i, row in enumerate(data["defenses"]):
        cells = "".join(cell(row[key], f"defenses.{i}.{key}", pct) for key, _, pct in columns)
        rows.append(f"<tr>{cells}</tr>")
    errors = [
        f"<li>{html.escape(row['label'])}: {html.escape(row['error'])}</li>"
        for row in data["defenses"]
        if row["error"]
    ]
    where = html.escape(data["defense_target"] or "")
    out = (
        f"<p>Measured on {where}: the attack re-run against each defended loss. The cost is "
        "the median relative change of the loss the user reports, at the model's own "
        "weights and 7 perturbations of them.</p>"
        f"<table><tr>{head}</tr>{''.join(rows)}</table>"
    )
    if errors:
        out += f"<p>Where the attack stopped:</p><ul>{''.join(errors)}</ul>"
    if data["truth"] and any(row["recall"] is not None for row in data["defenses"]):
        out += _png(recall_figure(data["defenses"]))
    return out


def _target_row(key: str, value: Any) -> str:
    if isinstance(value, list):
        shown = f'<td class="text">{html.escape(", ".join(map(str, value)))}</td>'
    else:
        shown = cell(value, f"target.{key}")
    return f'<tr><th class="text">{html.escape(key)}</th>{shown}</tr>'


def _html(result: AuditResult, data: dict[str, Any]) -> str:
    target = "".join(_target_row(key, value) for key, value in data["target"].items())
    summary = (
        f'<p>Wall time <span data-key="seconds">{duration_text(data["seconds"])}</span>'
        + (f", rounds {cell(data['rounds'], 'rounds', tag='span')}" if data["rounds"] else "")
        + f"; samples recovered {cell(data['recovered'], 'recovered', tag='span')}.</p>"
    )
    truth = (
        "<p class=note>Scored against the truth the auditor passed (lossrecon.evaluate: a "
        "sample counts at relative error 1e-6; exact means equal to the data at the "
        "precision it is held in, claimed only where the inputs lie on a grid — on other "
        "data the error bounds are the statement).</p>"
        if data["truth"]
        else "<p class=note>No truth was given: the reconstructions are shown, not scored.</p>"
    )
    warnings = sorted({w for s in data["splits"] for w in s["warnings"]})
    notes = "".join(f"<li>{html.escape(n)}</li>" for n in [*data["notes"], *warnings])
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>lossrecon audit</title>
<style>{_STYLE}</style></head><body>
<h1>lossrecon audit</h1>
<p class="verdict" data-key="verdict">{html.escape(data["verdict"])}</p>
{summary}
<h2>Target</h2><table>{target}</table>
<h2>What each client's loss gave away</h2>{truth}{_splits_table(data)}
<h2>Originals and reconstructions</h2>{_pairs(result)}
<h2>Defenses</h2>{_defenses(data)}
<h2>Notes</h2><ul>{notes or "<li>none</li>"}</ul>
</body></html>
"""


def write_report(result: AuditResult, directory: str | Path) -> Path:
    """Write report.json, report.html and the reconstructions into ``directory``;
    returns the HTML's path."""
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    data = result.to_json()
    (out / "report.json").write_text(json.dumps(data, indent=2, default=float) + "\n")
    for split in result.splits:
        if split.reconstruction is not None:
            split.reconstruction.save(out / f"client-{split.client}-{split.split}.npz")
    page = out / "report.html"
    page.write_text(_html(result, data))
    return page

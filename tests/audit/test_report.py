import json
import re
from html.parser import HTMLParser

import numpy as np
import pytest

import lossrecon as lr
from lossrecon.audit import audit_torch
from lossrecon.audit.report import duration_text, number_text, write_report

from .conftest import digits_mlp


class Cells(HTMLParser):
    """Every element with a data-key, and its text; the images the page holds."""

    def __init__(self):
        super().__init__()
        self.cells, self.images, self._open = {}, [], None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "data-key" in attrs:
            self._open = attrs["data-key"]
            self.cells[self._open] = ""
        if tag == "img":
            self.images.append(attrs["src"])

    def handle_data(self, data):
        if self._open is not None:
            self.cells[self._open] += data

    def handle_endtag(self, tag):
        self._open = None


def at(data, key):
    for part in key.split("."):
        data = data[int(part)] if isinstance(data, list) else data[part]
    return data


def shown_matches(text, value):
    """Does the page's text say the JSON's value (to the precision it is shown at)?"""
    if value is None:
        return text == "—"
    if isinstance(value, bool):
        return text == ("yes" if value else "no")
    if isinstance(value, str):
        return text == value
    if text.endswith("%"):
        return abs(float(text[:-1]) / 100 - value) <= 5e-4 + 1e-12
    duration = re.fullmatch(r"(?:(\d+) h )?(?:(\d+) min ?)?(?:([\d.]+) s)?", text)
    if duration and any(duration.groups()):
        hours, minutes, seconds = (float(part or 0) for part in duration.groups())
        shown = 3600 * hours + 60 * minutes + seconds
        return abs(shown - value) <= (30 if hours else 0.5 + 5e-3 * value)
    number = float(text.replace(",", ""))
    return number == value if isinstance(value, int) else abs(number - value) <= 5e-3 * abs(value)


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    net = digits_mlp(0, flatten=True)
    digits = lr.load_dataset("digits")
    x = (digits.inputs[:10] / 16.0 - 0.5) / 0.5
    result = audit_torch(net, x.reshape(10, 1, 8, 8), digits.targets[:10].argmax(1))
    out = tmp_path_factory.mktemp("audit")
    page = write_report(result, out)
    return out, page, json.loads((out / "report.json").read_text())


def test_every_number_on_the_page_is_the_json_s(report):
    _, page, data = report
    cells = Cells()
    cells.feed(page.read_text())
    assert len(cells.cells) > 60  # the splits, scores, defenses and summary are all keyed
    for key, text in cells.cells.items():
        assert shown_matches(text.strip(), at(data, key)), (key, text, at(data, key))
    for i in range(len(data["defenses"])):
        assert f"defenses.{i}.recall" in cells.cells and f"defenses.{i}.loss_change" in cells.cells


def test_the_page_is_self_contained_with_its_figures(report):
    _, page, _ = report
    cells = Cells()
    text = page.read_text()
    cells.feed(text)
    assert len(cells.images) == 2  # originals beside reconstructions; recall vs defense
    assert all(src.startswith("data:image/png;base64,") for src in cells.images)
    assert not re.search(r'(src|href)="(http|file|/)', text)


def test_the_verdict_and_the_reconstructions_are_the_audit_s(report):
    out, _, data = report
    assert data["verdict"].startswith("The loss leaks the data: lossrecon recovered 10 of 10")
    rec = lr.Reconstruction.load(out / "client-local-data.npz")
    assert rec.n_samples == data["splits"][0]["recovered"] == 10
    assert data["splits"][0]["score"]["exact"] == 1.0
    families = {row["family"] for row in data["defenses"]}
    assert families == {"rounding", "noise", "float16"}
    assert np.isfinite([row["loss_change"] for row in data["defenses"]]).all()


def test_times_read_in_minutes_and_large_numbers_as_whole_numbers():
    assert [duration_text(t) for t in (4.25, 42.4, 1156.2, 7500.0)] == [
        "4.25 s",
        "42 s",
        "19 min 16 s",
        "2 h 05 min",
    ]
    assert [number_text(x) for x in (1130.4, 0.5, 2133)] == ["1,130", "0.5", "2,133"]


def test_without_truth_the_pictures_show_the_reconstructions_once():
    from lossrecon.plots import image_pairs_figure

    alone = image_pairs_figure(None, np.zeros((3, 64)))
    paired = image_pairs_figure(np.ones((3, 64)), np.zeros((3, 64)))
    assert len(alone.axes) == 3 and alone.axes[0].get_ylabel() == "recovered"
    assert len(paired.axes) == 6 and paired.axes[0].get_ylabel() == "original"

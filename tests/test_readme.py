"""The README's Python snippet runs as written."""

import re
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"


def test_readme_python_snippet_runs(tmp_path, monkeypatch):
    snippet = re.search(r"```python\n(.*?)```", README.read_text(), re.S).group(1)
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    exec(compile(snippet, str(README), "exec"), namespace)
    assert namespace["report"]["recall"] == 1.0
    assert namespace["blind"].widths == [8, 6, 4, 1]

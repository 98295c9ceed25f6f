import re
import shutil
from pathlib import Path

import pytest
import torch

TEMPLATE = Path(__file__).resolve().parents[2] / "examples" / "flower_template"


@pytest.fixture
def small_app(tmp_path):
    """A copy of the example template App with small splits (8 training, 4 held-out
    digits a client, batches of 4), under a package name of its own so that its modules
    do not collide with the example's."""
    app = tmp_path / "small_app"
    shutil.copytree(TEMPLATE, app, ignore=shutil.ignore_patterns("__pycache__"))
    package = app / "template_app"
    renamed = app / f"template_app_{tmp_path.name.replace('-', '_')}"
    package.rename(renamed)
    for path in [app / "pyproject.toml", *renamed.glob("*.py")]:
        text = path.read_text().replace("template_app", renamed.name)
        path.write_text(text)
    config = (app / "pyproject.toml").read_text()
    for key, value in (("batch-size", 4), ("train-size", 8), ("test-size", 4)):
        config = re.sub(rf"^{key} = \d+$", f"{key} = {value}", config, flags=re.M)
    (app / "pyproject.toml").write_text(config)
    return app, renamed.name


def digits_mlp(seed: int, flatten: bool = False) -> torch.nn.Sequential:
    """The 64-32-16-10 float32 classifier with biases the audit tests attack (behind an
    nn.Flatten for image-shaped inputs)."""
    torch.manual_seed(seed)
    layers = [torch.nn.Flatten()] if flatten else []
    layers += [torch.nn.Linear(64, 32), torch.nn.ReLU(), torch.nn.Linear(32, 16)]
    layers += [torch.nn.ReLU(), torch.nn.Linear(16, 10)]
    return torch.nn.Sequential(*layers)

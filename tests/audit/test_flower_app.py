import numpy as np
import pytest

import lossrecon as lr
from lossrecon.audit.flower_app import FlowerApp, InProcessClient
from lossrecon.audit.model import ModelSpec, load_model
from lossrecon.errors import ConfigurationError, OracleError
from lossrecon.oracle.flower import MessageChannel
from lossrecon.oracle.protocol import LossConvention

from .conftest import TEMPLATE


def test_an_app_is_read_as_flower_reads_it_and_a_non_app_is_refused(tmp_path):
    app = FlowerApp.load(TEMPLATE)
    assert app.clientapp == "template_app.client_app:app"
    assert app.run_config["batch-size"] == 25 and app.run_config["train-size"] == 100
    with pytest.raises(ConfigurationError, match=r"no pyproject\.toml"):
        FlowerApp.load(tmp_path)
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\nversion = "1"\n')
    with pytest.raises(ConfigurationError, match="not a Flower App's"):
        FlowerApp.load(tmp_path)


def client(app_dir, package, kind, **channel):
    app = FlowerApp.load(app_dir)
    spec = ModelSpec.of(load_model(f"{package}.task:Net", app.directory))
    config = {"lr": 0.0} if kind == "train" else {}
    messages = MessageChannel(kind, spec.keys, config=config, **channel)

    oracle = InProcessClient(
        app,
        0,
        2,
        messages,
        spec.layout.arrays,
        spec.layout.n_params,
        LossConvention(dtype=spec.dtype),
    )
    return oracle, spec


@pytest.mark.parametrize("kind", ["train", "evaluate"])
def test_both_channels_of_a_template_client_give_its_digits_exactly(small_app, kind):
    """Train: Adam at lr = 0 over two shuffled batches, the mean of their losses;
    evaluate: one batch. Both read exactly, with the classes."""
    app_dir, package = small_app
    oracle, spec = client(app_dir, package, kind)
    assert oracle.num_examples == (8 if kind == "train" else 4)
    rec = lr.attacks.chosen_weights(oracle, spec.widths, bias=True, snap=True)
    task = __import__(f"{package}.task", fromlist=["truth"])
    x, y = task.truth(0, {"train-size": 8, "test-size": 4})[kind]
    assert lr.evaluate(rec, x, y)["recall"] == 1.0
    assert all(np.min(np.max(np.abs(x - r), axis=1)) == 0.0 for r in rec.inputs)
    assert rec.stats.grid == 0.125  # images normalized to [-1, 1]: steps of 1/8


def test_a_metric_the_reply_does_not_have_is_named(small_app):
    app_dir, package = small_app
    with pytest.raises(OracleError, match=r"no metric 'loss'.*eval_acc"):
        client(app_dir, package, "evaluate", metric="loss")


def test_a_legacy_numpy_client_is_read_through_evaluate_ins_and_its_missing_fit_noted():
    """The digits example's NumPyClient: evaluate() reports the loss, fit() is Flower's
    default (it raises), so the train split is left out with a note saying why."""
    from lossrecon.audit.runs import _candidates, readable_splits
    from lossrecon.oracle.flower import LegacyEvaluate

    directory = TEMPLATE.parent / "flower_digits"
    found = FlowerApp.load(directory)
    app = FlowerApp(found.directory, found.clientapp, {**found.run_config, "samples": 6})
    spec = ModelSpec.of(load_model("digits_app.task:Net", app.directory))

    def connect(channel):
        convention = LossConvention(dtype=spec.dtype)
        return InProcessClient(
            app, 0, 1, channel, spec.layout.arrays, spec.layout.n_params, convention
        )

    splits = [_candidates(spec, name, {}, {"lr": 0.0}) for name in ("train", "evaluate")]
    local, notes = readable_splits(connect, splits)
    assert list(local) == ["evaluate"] and isinstance(local["evaluate"].channel, LegacyEvaluate)
    assert len(notes) == 1 and notes[0].startswith("the train split was not read")
    rec = lr.attacks.chosen_weights(local["evaluate"], spec.widths, bias=True, snap=True)
    task = __import__("digits_app.task", fromlist=["private_data"])
    truth = task.private_data(0, 6)
    assert lr.evaluate(rec, truth.inputs, truth.targets)["recall"] == 1.0


def test_what_flower_and_ray_print_goes_to_the_log_not_the_console(tmp_path, capfd):
    """Everything written to file descriptors 1 and 2 inside the block, by this process
    or a child, lands in the log; before and after, on the console."""
    import os
    import subprocess
    import sys

    from lossrecon.audit.flower_app import output_to

    log = tmp_path / "flower.log"
    os.write(1, b"before\n")
    with output_to(log):
        os.write(1, b"flower says\n")
        os.write(2, b"ray traceback\n")
        subprocess.run([sys.executable, "-c", "print('a worker')"], check=True)
    os.write(2, b"after\n")
    assert log.read_text().splitlines() == ["flower says", "ray traceback", "a worker"]
    seen = capfd.readouterr()
    assert seen.out == "before\n" and seen.err == "after\n"

import subprocess
import sys

import pytest

HEAVY = ("sympy", "flint", "matplotlib", "torch", "flwr", "scipy.optimize")


@pytest.mark.parametrize("module", ["lossrecon", "lossrecon.cli"])
def test_import_loads_no_heavy_dependency(module):
    probe = f"import sys, {module}; print([m for m in {HEAVY!r} if m in sys.modules])"
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert loaded.returncode == 0, loaded.stderr
    assert loaded.stdout.strip() == "[]"


def test_the_symbolic_core_loads_on_first_use():
    probe = (
        "import sys, lossrecon as lr; lr.symbolic.weight_symbols([2, 1]); "
        "print('sympy' in sys.modules)"
    )
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert loaded.stdout.strip() == "True", loaded.stderr

import pytest

from lossrecon.errors import MissingDependencyError
from lossrecon.optional import require


def test_a_missing_dependency_names_the_extra_to_install():
    with pytest.raises(MissingDependencyError, match=r"pip install 'lossrecon\[flower\]'"):
        require("a_module_that_is_not_installed", "flower")


def test_an_installed_module_is_returned():
    assert require("numpy.linalg", "dev").__name__ == "numpy.linalg"

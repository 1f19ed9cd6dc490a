import importlib.metadata

import tripwire
import tripwire._core


def test_the_compiled_module_is_loaded_from_the_installed_package() -> None:
    assert tripwire.__version__ == importlib.metadata.version("tripwire")
    assert tripwire._core.__file__ is not None
    assert tripwire._core.__file__.endswith((".so", ".pyd"))

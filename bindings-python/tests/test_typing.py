"""The types that users see: mypy --strict over an example, and stubtest over the
compiled module's stub (both against the installed package)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

mypy_api = pytest.importorskip("mypy.api", reason="mypy is installed by scripts/setup-python.sh")

HERE = Path(__file__).parent / "typing"


def mypy(path: Path) -> "tuple[str, int]":
    out, err, status = mypy_api.run(["--strict", "--no-incremental", "--python-version", "3.10", str(path)])
    return out + err, status


def test_the_example_type_checks_and_keeps_signatures() -> None:
    out, status = mypy(HERE / "example.py")
    assert status == 0, out
    revealed = [line.split("Revealed type is ", 1)[1].strip('"') for line in out.splitlines() if "Revealed type" in line]
    assert revealed == [
        "def (user_id: int, *, verbose: bool =) -> dict[str, int]",
        "def (url: str, retries: int =) -> typing.Coroutine[Any, Any, bytes]",
        "dict[str, int]",
        "bytes",
        "dict[str, int]",
        "bytes",
        "tripwire._types.CircuitState",
        "float",
        "int",
    ], out


def test_misuse_is_caught() -> None:
    out, status = mypy(HERE / "misuse.py")
    assert status == 1, out
    assert 'Argument 1 to "get_user" has incompatible type "str"; expected "int"' in out
    assert 'Too many arguments for "call" of "Breaker"' in out or "Too many arguments" in out


def test_stubtest_agrees_with_the_compiled_module() -> None:
    allowlist = Path(__file__).parent / "stubtest-allowlist.txt"
    result = subprocess.run(
        [sys.executable, "-m", "mypy.stubtest", "tripwire._core", "--allowlist", str(allowlist)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr

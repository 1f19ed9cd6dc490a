"""The resilience service's and health checks' tests type-check under mypy --strict
against the installed package (its annotations and the compiled module's stub)."""

from __future__ import annotations

from pathlib import Path

import pytest

mypy_api = pytest.importorskip("mypy.api", reason="mypy is installed by scripts/setup-python.sh")

HERE = Path(__file__).parent
FILES = ["test_service.py", "test_service_bulkhead.py", "test_health.py", "test_resilience_vectors.py"]


def test_the_service_tests_type_check_strictly() -> None:
    out, err, status = mypy_api.run(["--strict", "--no-incremental", *(str(HERE / f) for f in FILES)])
    assert status == 0, out + err

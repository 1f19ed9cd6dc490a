"""Every ```python block of bindings-python/README.md runs as written."""

from __future__ import annotations

import __future__
import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)


def test_the_readme_has_examples() -> None:
    assert len(BLOCKS) >= 5


@pytest.mark.parametrize("source", BLOCKS, ids=[f"block{i}" for i in range(len(BLOCKS))])
def test_readme_example(source: str) -> None:
    # Postponed annotations, so that `list[str]` in the examples runs on Python 3.9.
    code = compile(source, str(README), "exec", flags=__future__.annotations.compiler_flag, dont_inherit=True)
    exec(code, {"__name__": "readme"})

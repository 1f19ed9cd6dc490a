"""Every ```python block of bindings-python/README.md runs as written.

```sh blocks are shell commands, shown and never run; any other fence fails the test,
so that no example is skipped silently. Each block is compiled with blank lines in
front, so that a traceback names its line in the README.
"""

from __future__ import annotations

import __future__
import os
import re
import shutil
from pathlib import Path
from typing import Iterator

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
ALLOWED = ("python", "sh")


def fenced_blocks(text: str) -> list[tuple[str, int, str]]:
    """(info, line of the first line of code, code) for every fenced block."""
    blocks = []
    lines = text.split("\n")
    i = 0
    while i < len(lines):
        fence = re.match(r"^(`{3,})(.*)$", lines[i])
        if fence is None:
            i += 1
            continue
        end = next((j for j in range(i + 1, len(lines)) if lines[j] == fence.group(1)), None)
        if end is None:
            raise AssertionError(f"README.md:{i + 1}: unclosed code fence")
        blocks.append((fence.group(2).strip(), i + 2, "\n".join(lines[i + 1 : end]) + "\n"))
        i = end + 1
    return blocks


BLOCKS = fenced_blocks(README.read_text())


@pytest.fixture(scope="module", autouse=True)
def redis_url() -> Iterator[None]:
    """The fleet examples' `REDIS_URL`: a redis-server of the test's own (test_fleet.py)."""
    if shutil.which("redis-server") is None:
        yield
        return
    from test_fleet import Redis

    server = Redis()
    os.environ["REDIS_URL"] = server.url
    try:
        yield
    finally:
        del os.environ["REDIS_URL"]
        server.kill()
        shutil.rmtree(server.dir, ignore_errors=True)
PYTHON = [(line, code) for info, line, code in BLOCKS if info == "python"]


def test_the_readme_has_examples() -> None:
    assert len(PYTHON) >= 5


def test_every_fence_is_known() -> None:
    unknown = [f"README.md:{line - 1}: ```{info}" for info, line, _ in BLOCKS if info not in ALLOWED]
    assert not unknown, f"use ```python (run) or ```sh (not run): {unknown}"


@pytest.mark.parametrize("line, source", PYTHON, ids=[f"line{line}" for line, _ in PYTHON])
def test_readme_example(line: int, source: str) -> None:
    # Postponed annotations, so that `list[str]` in the examples runs on Python 3.9.
    code = compile(
        "\n" * (line - 1) + source,
        str(README),
        "exec",
        flags=__future__.annotations.compiler_flag,
        dont_inherit=True,
    )
    exec(code, {"__name__": "readme"})

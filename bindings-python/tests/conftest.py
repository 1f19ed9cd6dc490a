from __future__ import annotations

from typing import Iterator

import pytest

import tripwire


@pytest.fixture(autouse=True)
def empty_registry() -> Iterator[None]:
    """Every test starts and ends with an empty registry."""
    tripwire.registry.clear()
    yield
    tripwire.registry.clear()


@pytest.fixture
def clock() -> tripwire.ManualClock:
    return tripwire.ManualClock()

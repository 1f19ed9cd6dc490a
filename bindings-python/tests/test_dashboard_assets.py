"""The dashboard's files are in the installed package (maturin's python-source), and
the vendored uPlot is exactly the pinned 1.6.32 files, equal to node_modules' copy when
the npm dependencies are installed."""

from __future__ import annotations

import hashlib
import pathlib

import pytest

import tripwire.control

PINS = {
    "uPlot.iife.min.js": "19c8d4c6ad88929a79f4ae49d6f7161566dfd0ba3d15cc495e974f787eb78f1f",
    "uPlot.min.css": "df630c6a8d6f8eeaff264b50f73ce5b114f646ffd9a0bb74f049b0a00135fa04",
    "uPlot-LICENSE": "8f989229699b4fe2f1a0432d0e9edc338a8a911e250e2d1b01ecd770a5f5b1bd",
}
INSTALLED = pathlib.Path(tripwire.control.__file__).resolve().parent / "dashboard"
NODE_MODULES = pathlib.Path(__file__).resolve().parents[2] / "node_modules" / "uplot"


def sha256(path: pathlib.Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_the_installed_package_carries_the_dashboard() -> None:
    for name in ("index.html", "tripwire-dashboard.js", "dashboard.css"):
        assert (INSTALLED / name).is_file(), name
    for name in PINS:
        assert (INSTALLED / "vendor" / name).is_file(), name


@pytest.mark.parametrize("name", sorted(PINS))
def test_vendored_uplot_matches_its_pin(name: str) -> None:
    assert sha256(INSTALLED / "vendor" / name) == PINS[name]
    sums = dict(reversed(line.split()) for line in (INSTALLED / "vendor" / "SHA256SUMS").read_text().splitlines())
    assert sums[name] == PINS[name], "SHA256SUMS says the same"


def test_vendored_uplot_equals_node_modules() -> None:
    if not NODE_MODULES.exists():
        pytest.skip("node_modules/uplot is not installed (npm install)")
    assert '"version": "1.6.32"' in (NODE_MODULES / "package.json").read_text()
    for name, source in (
        ("uPlot.iife.min.js", NODE_MODULES / "dist" / "uPlot.iife.min.js"),
        ("uPlot.min.css", NODE_MODULES / "dist" / "uPlot.min.css"),
        ("uPlot-LICENSE", NODE_MODULES / "LICENSE"),
    ):
        assert (INSTALLED / "vendor" / name).read_bytes() == source.read_bytes(), name

"""man/wirecage-profile.5: renders without a warning, and documents every key we read."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from wirecage.profiles import conf, tomlfmt

PAGE = Path(__file__).resolve().parents[2] / "man" / "wirecage-profile.5"


def tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.skip(f"needs {name} (scripts/setup.sh installs mandoc and groff-base)")
    return path


def test_mandoc_lint_is_clean():
    result = subprocess.run(
        [tool("mandoc"), "-Tlint", str(PAGE)], capture_output=True, text=True, timeout=60
    )
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")


def test_groff_has_no_warnings():
    result = subprocess.run(
        [tool("groff"), "-ww", "-man", "-z", str(PAGE)], capture_output=True, text=True, timeout=60
    )
    assert (result.returncode, result.stderr) == (0, "")


def test_every_key_is_documented():
    text = PAGE.read_text().replace("\\-", "-")
    for name in [*conf.INTERFACE_KEYS.values(), *conf.PEER_KEYS.values()]:
        assert name in text, name
    for name in [*tomlfmt.INTERFACE_KEYS, *tomlfmt.PEER_KEYS]:
        assert name in text, name
    for name in ("Jc", "Jmin", "Jmax", "S1", "S2", "H1", "H4", "Itime"):
        assert name in text, name

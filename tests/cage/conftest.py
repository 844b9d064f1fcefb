"""Fixtures of the cage tests: a world-readable copy of the code and the namespace topology
with wireguard-go peers, which gives each run a private /dev/net/tun (see cagenet.py)."""

from __future__ import annotations

import compileall
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from topology import cleanup_stale

SRC = Path(__file__).resolve().parents[2] / "src" / "wirecage"


@pytest.fixture(scope="session")
def src_copy() -> Iterator[Path]:
    """The source tree where ``nobody`` can read it (the checkout may be under /root)."""
    base = Path(tempfile.mkdtemp(prefix="wc-src-"))
    shutil.copytree(SRC, base / "wirecage", ignore=shutil.ignore_patterns("__pycache__"))
    # Compiled once, as an installed package is (nobody cannot write __pycache__ there).
    compileall.compile_dir(str(base), quiet=1)
    for root, _dirs, files in os.walk(base):
        os.chmod(root, 0o755)
        for name in files:
            os.chmod(os.path.join(root, name), 0o644)
    try:
        yield base
    finally:
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="module")
def net(src_copy):
    from cage.cagenet import CageNet
    from topology import _NETNS_PROBLEM, _WGGO_PROBLEM

    if _NETNS_PROBLEM or _WGGO_PROBLEM:
        pytest.skip(_NETNS_PROBLEM or _WGGO_PROBLEM)
    cleanup_stale()
    with CageNet(src_copy) as world:
        yield world

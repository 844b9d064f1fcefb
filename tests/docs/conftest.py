"""Fixtures for the documentation and completion tests: a throwaway user with profiles."""

from __future__ import annotations

import os
from pathlib import Path

import pytest


@pytest.fixture
def user_env(tmp_path: Path) -> dict[str, str]:
    """An environment whose profile directory holds work.conf, home.toml and some files
    that are not profiles, and whose PATH has a command wctestcmd (with its own completion
    in the harness) besides the system's."""
    config = tmp_path / "config"
    profiles = config / "wirecage" / "profiles"
    profiles.mkdir(parents=True)
    for name in ("work.conf", "home.toml", "work.toml", "bad name.conf", "notes.txt"):
        (profiles / name).write_text("# not read by completion\n")
    (profiles / "subdir.conf").mkdir()  # a directory is not a profile
    bindir = tmp_path / "bin"
    bindir.mkdir()
    command = bindir / "wctestcmd"
    command.write_text("#!/bin/sh\nexit 0\n")
    command.chmod(0o755)
    home = tmp_path / "home"
    home.mkdir()
    return {
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(config),
        "XDG_DATA_HOME": str(tmp_path / "data"),
        "XDG_CACHE_HOME": str(tmp_path / "cache"),
        "PATH": f"{bindir}:/usr/local/bin:/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "TERM": "xterm",
        "USER": os.environ.get("USER", "root"),
    }

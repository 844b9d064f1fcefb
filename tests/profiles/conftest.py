"""Every profile test gets its own profile directories: a temporary XDG_CONFIG_HOME and
temporary stand-ins for /etc/wirecage/profiles and /etc/wireguard, so no test reads or
writes the machine's real profiles."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from wirecage.profiles import store


class Dirs:
    def __init__(self, root: Path):
        self.config = root / "config"
        self.user = self.config / "wirecage" / "profiles"
        self.etc_wirecage = root / "etc-wirecage"
        self.etc_wireguard = root / "etc-wireguard"


@pytest.fixture(autouse=True)
def dirs(tmp_path, monkeypatch) -> Dirs:
    d = Dirs(tmp_path / "dirs")
    d.config.mkdir(parents=True)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(d.config))
    monkeypatch.setattr(store, "SYSTEM_PROFILE_DIRS", (d.etc_wirecage, d.etc_wireguard))
    for var in ("VISUAL", "EDITOR"):
        monkeypatch.delenv(var, raising=False)
    yield d
    # cli.main installs a handler on the "wirecage" logger bound to that test's stderr.
    logging.getLogger("wirecage").handlers[:] = []

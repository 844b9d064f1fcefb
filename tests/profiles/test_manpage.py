"""man/wirecage-profile.5: renders without a warning, and documents every key we read."""

from __future__ import annotations

import re
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


def section(title: str) -> str:
    text = PAGE.read_text().replace("\\-", "-")
    start = text.index(f".SH {title}\n")
    end = text.find("\n.SH ", start + 1)
    return text[start : end + 1]


def test_synopsis_names_every_file_the_search_reads(monkeypatch):
    import ast

    from wirecage.profiles import store

    # The real system directories: the autouse fixture replaces them with temporary ones.
    tree = ast.parse(Path(store.__file__).read_text())
    (system,) = [
        node.value
        for node in tree.body
        if isinstance(node, ast.Assign) and ast.unparse(node.targets[0]) == "SYSTEM_PROFILE_DIRS"
    ]
    directories = [c.value for c in ast.walk(system) if isinstance(c, ast.Constant)]
    assert directories == ["/etc/wirecage/profiles", "/etc/wireguard"]
    monkeypatch.setenv("XDG_CONFIG_HOME", "/XDG")
    directories.insert(0, str(store.user_profile_dir()).replace("/XDG", "$XDG_CONFIG_HOME"))
    synopsis = section("SYNOPSIS")
    for directory in directories:
        for fmt in store.FORMATS:
            assert f".I {directory}/NAME.{fmt}\n" in synopsis, (directory, fmt)


def test_the_json_of_profile_show_is_documented_field_by_field():
    from profiles.keys import CLIENT_PRIVATE, PSK, SERVER_PUBLIC
    from wirecage.profiles.conf import read_conf
    from wirecage.profiles.jsonview import HIDDEN, profile_to_json

    text = (
        f"[Interface]\nPrivateKey = {CLIENT_PRIVATE}\nAddress = 10.0.0.2/32\n"
        f"[Peer]\nPublicKey = {SERVER_PUBLIC}\nPresharedKey = {PSK}\nAllowedIPs = 0.0.0.0/0\n"
    )
    view = profile_to_json(read_conf(text, source="j.conf")[0])
    json_section = section("JSON OUTPUT")
    fields = [*view, *view["interface"], *view["peers"][0]]
    for field in fields:
        assert re.search(rf"^\.BR? {field}( |$)", json_section, re.MULTILINE), field
    assert f"\\(dq{HIDDEN}\\(dq" in json_section

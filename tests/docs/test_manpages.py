"""The man pages render without a single warning, and say what the issue asks them to say.

Every page under man/ is checked: wirecage.1 here, wirecage-profile.5 once it lands.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from completion_harness import require

from wirecage.cli.completion import PROFILE_SYSTEM_DIRS, PROFILE_USER_DIR
from wirecage.cli.spec import cli_spec

REPO = Path(__file__).resolve().parent.parent.parent
PAGES = sorted((REPO / "man").glob("*.[1-9]"))
ENV = {"LANG": "C.UTF-8", "MANWIDTH": "80", "PATH": "/usr/bin:/bin"}


def test_wirecage_1_is_there():
    assert REPO / "man" / "wirecage.1" in PAGES


def _run(argv: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, env=ENV, capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_mandoc_lint_is_clean(page):
    require("mandoc")
    proc = _run(["mandoc", "-Tlint", "-W", "style", str(page)])
    assert proc.returncode == 0 and not proc.stdout and not proc.stderr, proc.stdout + proc.stderr


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_groff_reports_no_warning(page):
    require("groff")
    proc = _run(["groff", "-ww", "-man", "-z", str(page)])
    assert proc.returncode == 0 and not proc.stderr, proc.stderr


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_man_renders_the_page(page):
    require("man")
    proc = _run(["man", "--warnings=w", "-l", str(page)])
    assert proc.returncode == 0 and not proc.stderr, proc.stderr
    assert "NAME" in proc.stdout and "SEE ALSO" in proc.stdout


def _rendered(page: str = "wirecage.1") -> str:
    require("mandoc")
    proc = _run(["mandoc", "-Tutf8", "-Owidth=200", str(REPO / "man" / page)])
    assert proc.returncode == 0, proc.stderr
    return re.sub(".\b", "", proc.stdout)  # drop the overstrike of bold and underline


def _section(text: str, title: str) -> str:
    match = re.search(rf"^{title}\n(.*?)(?=^[A-Z][A-Z ]+\n|\Z)", text, re.M | re.S)
    assert match, f"no {title} section"
    return match[1]


def test_every_command_and_option_is_in_the_page():
    text = _rendered()
    for cmd in cli_spec().walk():
        if len(cmd.path) > 1 and not cmd.subcommands:
            assert "wirecage [global-options] " + " ".join(cmd.path[1:]) in text, cmd.name
        for opt in cmd.options:
            for flag in opt.flags:
                assert re.search(rf"(^|\s){re.escape(flag)}\b", text), flag


def test_files_names_the_profile_search_path_the_completions_use():
    files = _section(_rendered(), "FILES")
    assert f"$XDG_CONFIG_HOME/{PROFILE_USER_DIR}" in files
    assert f"~/.config/{PROFILE_USER_DIR}" in files
    for directory in PROFILE_SYSTEM_DIRS:
        assert directory in files
    assert "NAME.conf" in files and "NAME.toml" in files


def test_exit_status_environment_security_and_examples():
    text = _rendered()
    exit_status = _section(text, "EXIT STATUS")
    for status in ("125", "126", "127", "128+N", "0", "1", "2"):
        assert re.search(rf"^\s+{re.escape(status)}\s", exit_status, re.M), status
    environment = _section(text, "ENVIRONMENT")
    for variable in ("XDG_CONFIG_HOME", "VISUAL", "EDITOR", "SHELL", "WIRECAGE_PROFILE"):
        assert variable in environment
    security = " ".join(_section(text, "SECURITY").split())
    assert "What the cage guarantees" in security and "What it does not guarantee" in security
    # The holes a user must know of: host services' sockets in the file system (abstract ones
    # are the cage's own), the processes and /proc, root without sudo, traffic timing.
    for hole in ("Sockets in the file system", "Abstract Unix sockets", "/proc", "as root"):
        assert hole in security, hole
    assert "times and sizes of the packets" in security
    assert "wirecage up" in _section(text, "EXAMPLES")


def test_the_signals_passed_on_are_the_ones_the_cage_relays():
    from wirecage.cage.process import RELAYED_SIGNALS

    up = " ".join(_section(_rendered(), "COMMANDS").split())
    listed = re.search(r"The signals ((?:SIG[A-Z0-9]+,? (?:and )?)+)sent to wirecage", up)
    assert listed, "wirecage up: no sentence listing the signals passed on"
    assert set(re.findall(r"SIG[A-Z0-9]+", listed[1])) == {s.name for s in RELAYED_SIGNALS}

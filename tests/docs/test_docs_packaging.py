"""``pip install`` puts the man pages and completions where man and the shells find them.

A real ``pip install --prefix`` of a copy of the source tree (a copy, so that the build
leaves nothing in the worktree), then the discovery that the README describes: man through
PATH, bash-completion and fish through XDG_DATA_DIRS, zsh through fpath.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from completion_harness import BASH_COMPLETION, require

REPO = Path(__file__).resolve().parent.parent.parent
INSTALLED = {
    "share/man/man1/wirecage.1": "man/wirecage.1",
    "share/bash-completion/completions/wirecage.bash": "completions/wirecage.bash",
    "share/zsh/site-functions/_wirecage": "completions/_wirecage",
    "share/fish/vendor_completions.d/wirecage.fish": "completions/wirecage.fish",
}


def _installed_here() -> str:
    """Where this interpreter's environment has a wirecage distribution ("" for none).

    Asked of a fresh interpreter: importlib.metadata in this one caches what it has seen.
    """
    probe = (
        "import importlib.metadata as m\n"
        "try:\n"
        "    print(m.distribution('wirecage').locate_file(''))\n"
        "except m.PackageNotFoundError:\n"
        "    pass\n"
    )
    proc = subprocess.run(
        [sys.executable, "-I", "-c", probe], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip()


@pytest.fixture(scope="module")
def prefix(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``pip install --prefix`` of a copy of the source tree; returns the prefix.

    The environment pip runs in keeps its own wirecage (scripts/setup.sh's editable
    install): the suite must not take the user's `wirecage` command away.
    """
    installed_before = _installed_here()
    tmp = tmp_path_factory.mktemp("install")
    source = tmp / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(REPO / name, source / name)
    for name in ("src", "man", "completions"):
        shutil.copytree(REPO / name, source / name, ignore=shutil.ignore_patterns("__pycache__"))
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "-q",
            "--no-deps",
            # Without it pip first uninstalls the wirecage of the environment it runs in.
            "--ignore-installed",
            "--prefix",
            str(tmp / "p"),
            ".",
        ],
        cwd=source,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert _installed_here() == installed_before
    return tmp / "p"


@pytest.mark.slow
def test_pip_install_puts_pages_and_completions_in_share(prefix):
    for installed, committed in INSTALLED.items():
        assert (prefix / installed).read_bytes() == (REPO / committed).read_bytes(), installed
    # Every page under man/, in its section's directory (wirecage-profile.5 once it lands).
    for page in (REPO / "man").glob("*.[1-9]"):
        assert (prefix / "share" / "man" / f"man{page.suffix[1:]}" / page.name).is_file()
    assert (prefix / "bin" / "wirecage").is_file()


@pytest.mark.slow
def test_man_finds_the_page_next_to_the_program(prefix):
    require("man")
    env = {"PATH": f"{prefix / 'bin'}:/usr/bin:/bin", "LANG": "C.UTF-8"}
    proc = subprocess.run(["man", "-w", "wirecage"], env=env, capture_output=True, text=True)
    assert proc.stdout.strip() == str(prefix / "share/man/man1/wirecage.1"), proc.stderr


@pytest.mark.slow
def test_bash_completion_loads_it_through_xdg_data_dirs(prefix, tmp_path):
    require("bash")
    if not BASH_COMPLETION.exists():
        pytest.skip("bash-completion is not installed (scripts/setup.sh installs it)")
    env = {
        "PATH": f"{prefix / 'bin'}:/usr/bin:/bin",
        "HOME": str(tmp_path),
        "XDG_DATA_DIRS": f"{prefix / 'share'}:/usr/share",
    }
    script = f"source {BASH_COMPLETION}; __load_completion wirecage && complete -p wirecage"
    proc = subprocess.run(["bash", "--norc", "-c", script], env=env, capture_output=True, text=True)
    assert proc.stdout.strip() == "complete -F _wirecage wirecage", proc.stderr


@pytest.mark.slow
def test_fish_loads_it_through_xdg_data_dirs(prefix, tmp_path):
    require("fish")
    env = {
        "PATH": f"{prefix / 'bin'}:/usr/bin:/bin",
        "HOME": str(tmp_path),
        "XDG_DATA_DIRS": f"{prefix / 'share'}:/usr/share",
    }
    proc = subprocess.run(
        ["fish", "-c", "complete -C 'wirecage profile sh'"], env=env, capture_output=True, text=True
    )
    assert proc.stdout.split("\t")[0] == "show", proc.stdout + proc.stderr


@pytest.mark.slow
def test_zsh_finds_it_in_fpath(prefix, tmp_path):
    require("zsh")
    script = (
        f"fpath=({prefix / 'share/zsh/site-functions'} $fpath); "
        "autoload -Uz compinit; compinit -u -D; print -r -- $_comps[wirecage]"
    )
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "ZDOTDIR": str(tmp_path)}
    proc = subprocess.run(["zsh", "-fc", script], env=env, capture_output=True, text=True)
    assert proc.stdout.strip() == "_wirecage", proc.stderr

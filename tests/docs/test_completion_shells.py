"""The committed completion scripts, driven through bash, zsh and fish themselves.

Expected values come from the parser (through wirecage.cli.spec) and from the profile files
each test writes, never from a copy of the scripts' own tables.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from completion_harness import (
    BASH_COMPLETION,
    COMPLETIONS,
    complete,
    complete_bash,
    require,
    run_shell,
    system_profile_names,
)

from wirecage.cli.spec import cli_spec

SHELLS = ("bash", "zsh", "fish")
SRC = Path(__file__).resolve().parent.parent.parent / "src"
SPEC = {c.name: c for c in cli_spec().walk()}
USER_PROFILES = {"work", "home"}  # from the user_env fixture; "bad name" is no valid name


def subcommand_names(path: str) -> set[str]:
    return {sub.path[-1] for sub in SPEC[path].subcommands}


@pytest.fixture(params=SHELLS)
def shell(request: pytest.FixtureRequest) -> str:
    require(request.param)
    if request.param == "bash":
        require("bash")  # and bash-completion, checked where _command_offset matters
    return request.param


@pytest.fixture
def cwd(tmp_path: Path) -> Path:
    directory = tmp_path / "cwd"
    directory.mkdir()
    (directory / "provider.conf").write_text("# a file to import\n")
    return directory


def offered(shell: str, line: str, env: dict[str, str], cwd: Path) -> set[str]:
    return set(complete(shell, line, env, cwd))


def test_subcommands_at_every_level(shell, user_env, cwd):
    assert offered(shell, "wirecage ", user_env, cwd) == subcommand_names("wirecage")
    assert offered(shell, "wirecage profile ", user_env, cwd) == subcommand_names(
        "wirecage profile"
    )
    assert offered(shell, "wirecage -v profile re", user_env, cwd) == {"remove", "rename"}


def test_up_lists_the_profiles_of_the_config_directory(shell, user_env, cwd):
    expected = USER_PROFILES | system_profile_names()
    assert offered(shell, "wirecage up ", user_env, cwd) == expected
    assert offered(shell, "wirecage up w", user_env, cwd) == {
        n for n in expected if n.startswith("w")
    }


def test_profiles_in_the_default_config_directory(shell, user_env, cwd):
    # Without XDG_CONFIG_HOME the user's profiles are in ~/.config/wirecage/profiles.
    env = dict(user_env)
    profiles = Path(env.pop("XDG_CONFIG_HOME")) / "wirecage" / "profiles"
    default = Path(env["HOME"]) / ".config" / "wirecage" / "profiles"
    default.mkdir(parents=True)
    (default / "laptop.toml").write_text("")
    assert profiles.is_dir()  # still there, but no longer the user's directory
    assert offered(shell, "wirecage up ", env, cwd) == {"laptop"} | system_profile_names()


def profile_list_names(env: dict[str, str], cwd: Path) -> set[str]:
    """What ``wirecage profile list --names`` (this tree's) prints."""
    proc = subprocess.run(
        [sys.executable, "-m", "wirecage", "profile", "list", "--names"],
        env=dict(env, PYTHONPATH=str(SRC)),
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    return set(proc.stdout.split())


@pytest.mark.parametrize("xdg_config_home", ["absolute", "relative", "unset"])
def test_the_shell_lists_what_profile_list_names_lists(shell, user_env, cwd, xdg_config_home):
    # The shells glob the search path themselves; the store is the reference.
    env = dict(user_env)
    default = Path(env["HOME"]) / ".config" / "wirecage" / "profiles"
    default.mkdir(parents=True)
    (default / "laptop.toml").write_text("")
    if xdg_config_home == "relative":  # ignored, per the XDG rule
        env["XDG_CONFIG_HOME"] = "config"
        (cwd / "config" / "wirecage" / "profiles").mkdir(parents=True)
        (cwd / "config" / "wirecage" / "profiles" / "relative.conf").write_text("")
    elif xdg_config_home == "unset":
        del env["XDG_CONFIG_HOME"]
    # A file name starting with a dot is a profile to the store too; the shells offer it as
    # they offer hidden files, for a word that starts with a dot.
    (default / ".dotted.conf").write_text("")
    # A name ending in .conf is no name (`up corp.conf` reads a path): listed by neither.
    (default / "corp.conf.conf").write_text("")
    names = profile_list_names(env, cwd)
    assert "corp.conf" not in names
    assert names >= ({"work", "home"} if xdg_config_home == "absolute" else {"laptop"})
    hidden = {n for n in names if n.startswith(".")}
    assert (".dotted" in hidden) == (xdg_config_home != "absolute")
    assert offered(shell, "wirecage up ", env, cwd) == names - hidden
    assert offered(shell, "wirecage up .", env, cwd) == hidden


@pytest.mark.parametrize("action", ["show", "edit", "remove", "rename", "export", "check"])
def test_profile_actions_complete_profile_names(shell, user_env, cwd, action):
    expected = USER_PROFILES | system_profile_names()
    assert offered(shell, f"wirecage profile {action} ", user_env, cwd) == expected


def test_a_word_with_a_slash_is_a_path(shell, user_env, cwd):
    results = offered(shell, "wirecage up ./prov", user_env, cwd)
    assert any(r.endswith("provider.conf") for r in results), results


def test_import_completes_file_names(shell, user_env, cwd):
    results = offered(shell, "wirecage profile import prov", user_env, cwd)
    assert {r.removeprefix("./") for r in results} == {"provider.conf"}


def test_after_dashdash_the_shell_completes_a_command(shell, user_env, cwd):
    # "wirecage up work -- ss<Tab>" with a command of our own, so the answer is known.
    assert "wctestcmd" in offered(shell, "wirecage up work -- wctest", user_env, cwd)
    assert "wctestcmd" in offered(shell, "wirecage up --wait work -- wctest", user_env, cwd)


def test_after_dashdash_the_command_completes_its_own_arguments(shell, user_env, cwd):
    assert offered(shell, "wirecage up work -- wctestcmd ", user_env, cwd) == {"alpha", "beta"}
    assert offered(shell, "wirecage up work -- wctestcmd a", user_env, cwd) == {"alpha"}
    # Without a profile (an ad-hoc tunnel): the first word after -- is still the command.
    assert offered(shell, "wirecage up -- wctestcmd b", user_env, cwd) == {"beta"}


def test_after_dashdash_wirecage_options_are_not_offered(shell, user_env, cwd):
    results = offered(shell, "wirecage up work -- wctestcmd --wa", user_env, cwd)
    assert "--wait" not in results


def test_options_after_the_profile_are_wirecages(shell, user_env, cwd):
    # "wirecage up work --wait -- ssh host" is valid: before "--" and before a command word,
    # an option is wirecage's, not the start of a command line.
    up_options = {f for o in SPEC["wirecage up"].options for f in o.flags}
    assert offered(shell, "wirecage up work --wa", user_env, cwd) == {
        f for f in up_options if f.startswith("--wa")
    }
    assert offered(shell, "wirecage up work -", user_env, cwd) >= {"--wait", "--dns"}
    assert "--wait" in offered(shell, "wirecage up work --", user_env, cwd)
    # An option's value still is not the command.
    assert "wctestcmd" not in offered(shell, "wirecage up work --dns ", user_env, cwd)
    # After a command word, a "-" word belongs to the command.
    assert "--wait" not in offered(shell, "wirecage up work wctestcmd --wa", user_env, cwd)


def test_a_command_line_starting_with_a_dash_is_no_error(shell, user_env, cwd):
    # fish's __fish_complete_subcommand fails on "complete -C --"; nothing may leak onto the
    # user's screen (the fish harness fails on any output on stderr).
    assert "--wait" not in offered(shell, "wirecage up work -- --", user_env, cwd)
    assert "--wait" not in offered(shell, "wirecage up -- -", user_env, cwd)


def test_options_and_their_values(shell, user_env, cwd):
    up_options = {f for o in SPEC["wirecage up"].options for f in o.flags}
    assert offered(shell, "wirecage up --wa", user_env, cwd) == {
        f for f in up_options if f.startswith("--wa")
    }
    assert offered(shell, "wirecage profile import --format ", user_env, cwd) == {"conf", "toml"}
    # --format=t: bash and zsh replace the word after "=", fish the whole word.
    results = offered(shell, "wirecage profile import --format=t", user_env, cwd)
    assert {r.removeprefix("--format=") for r in results} == {"toml"}
    # An option's value is not a positional: the profile is still the next word.
    expected = USER_PROFILES | system_profile_names()
    assert offered(shell, "wirecage up --dns 10.77.0.1 ", user_env, cwd) == expected
    assert "root" in offered(shell, "wirecage up --user ro", user_env, cwd)


def test_completion_offers_the_shells(shell, user_env, cwd):
    completion = SPEC["wirecage completion"].positionals[0]
    assert offered(shell, "wirecage completion ", user_env, cwd) == set(completion.choices)


def test_bash_without_bash_completion_still_completes_commands(user_env, cwd):
    require("bash")
    line = "wirecage up work -- wctest"
    assert "wctestcmd" in complete_bash(line, user_env, cwd, bash_completion=False)
    assert complete_bash("wirecage up ", user_env, cwd, bash_completion=False)


@pytest.mark.parametrize("option", ["failglob", "nullglob", "dotglob", "nocaseglob"])
def test_bash_profile_names_whatever_the_glob_options(user_env, cwd, option):
    # failglob made every Tab in a directory without a match print "no match" errors.
    require("bash")
    profiles = Path(user_env["XDG_CONFIG_HOME"]) / "wirecage" / "profiles"
    (profiles / "UPPER.CONF").write_text("")  # no profile: the suffix is not .conf
    env = dict(user_env, BASHOPTS=option)  # bash sets these options at start
    script = f"source {COMPLETIONS / 'wirecage.bash'}; _wirecage_profiles; shopt -p {option}"
    proc = run_shell(["bash", "--norc", "--noprofile", "-c", script], env, cwd)
    assert proc.returncode == 0 and not proc.stderr, proc.stderr
    *names, shopt = proc.stdout.splitlines()
    assert set(names) == USER_PROFILES | system_profile_names()
    assert shopt == f"shopt -s {option}"  # the user's option is back as it was


def test_fish_sourced_script_is_not_mixed_with_an_autoloaded_one(user_env, cwd, tmp_path):
    # fish_update_completions writes a wirecage.fish from the man page into a directory of
    # $fish_complete_path; with "wirecage completion fish | source" fish autoloaded it at the
    # first Tab and offered its unconditional rules (every option of the page) everywhere.
    require("fish")
    generated = tmp_path / "generated_completions"
    generated.mkdir()
    (generated / "wirecage.fish").write_text("complete -c wirecage -l from-the-man-page\n")
    bindir = Path(user_env["PATH"].split(":")[0])
    (bindir / "wirecage").write_text("#!/bin/sh\n")  # fish autoloads for commands on PATH
    (bindir / "wirecage").chmod(0o755)
    script = (COMPLETIONS / "wirecage.fish").read_text()
    probe = (
        f"set -g fish_complete_path {generated}\n"
        f"complete -C 'wirecage profile list --' | string match -q -- '--from-the-man-page*'\n"
        "echo $status\n"
    )
    unsourced = run_shell(["fish", "--no-config", "-c", probe], user_env, cwd)
    assert unsourced.stdout.split() == ["0"], unsourced.stderr  # the probe can see the rule
    sourced = f"set -g fish_complete_path {generated}; source; " + probe.replace("\n", "; ")
    proc = run_shell(["fish", "--no-config", "-c", sourced], user_env, cwd, stdin=script)
    assert proc.stdout.split() == ["1"] and not proc.stderr, proc.stdout + proc.stderr


def test_bash_uses_bash_completion_for_the_command_arguments(user_env, cwd):
    if not BASH_COMPLETION.exists():
        pytest.skip("bash-completion is not installed (scripts/setup.sh installs it)")
    line = "wirecage up work -- wctestcmd "
    assert set(complete_bash(line, user_env, cwd)) == {"alpha", "beta"}

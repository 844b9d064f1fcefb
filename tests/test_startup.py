"""What keeps ``wirecage up`` quick to start: what it imports, its logging, its parser.

The time itself is measured by ``bench/bench_up.py``, never here; these tests check the
behaviour the speed rests on, so that an innocent-looking import does not undo it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from wirecage import logs
from wirecage.cli.parser import build_parser, command_word
from wirecage.wg.keys import PrivateKey

SRC = Path(__file__).resolve().parent.parent / "src"

# Modules that `up` does not need, and that cost milliseconds at every start.
NOT_ON_THE_UP_PATH = {
    "logging",  # only when a message is shown (wirecage.logs)
    "dataclasses",  # and with it inspect, ast, dis, tokenize
    "inspect",
    "tempfile",  # only when a profile is written
    "difflib",  # only for a "did you mean" in an error
    "tomllib",  # a .conf profile needs no TOML parser
    "wirecage.profiles.tomlfmt",
    "wirecage.cli.profile_cmd",
    "wirecage.cli.completion",
    # cryptography's whole OpenSSL backend, which its X25519 classes import (wg.x25519)
    "cryptography.hazmat.backends.openssl.backend",
}


def _python(code: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, "PYTHONPATH": str(SRC), **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def _profile(tmp_path: Path) -> Path:
    ours = PrivateKey(bytes(range(1, 33)))
    peer = PrivateKey(bytes(range(2, 34))).public_key()
    path = tmp_path / "fast.conf"
    path.write_text(
        "[Interface]\n"
        f"PrivateKey = {ours.to_base64()}\n"
        "Address = 10.77.0.2/32\n"
        "[Peer]\n"
        f"PublicKey = {peer.to_base64()}\n"
        "Endpoint = 198.51.100.1:51820\n"
        "AllowedIPs = 10.77.0.0/24\n"
    )
    path.chmod(0o600)
    return path


def test_the_up_path_imports_nothing_it_does_not_need(tmp_path):
    # Everything `wirecage up` imports to start its handshake, in a fresh interpreter.
    code = f"""
import json, sys
from wirecage.cli import main
from wirecage.cli.parser import build_parser, command_word
from wirecage.logs import configure_logging
argv = ["up", "--wait", {str(_profile(tmp_path))!r}, "--", "true"]
args = build_parser(command_word(argv)).parse_args(argv)
configure_logging(0)
from wirecage.cli.up_cmd import load
profile = load(args)
import os, time
import wirecage.app.up
from wirecage.wg.tunnel import PeerConfig, Tunnel
peers = [PeerConfig(p.public_key, endpoint=("198.51.100.1", 51820)) for p in profile.peers]
tunnel = Tunnel(profile.interface.private_key, peers, now=0.0, randbytes=os.urandom,
                wall_time=time.time)
assert tunnel.initiate_handshakes(0.0)
print(json.dumps(sorted(sys.modules)))
"""
    proc = _python(code)
    assert proc.returncode == 0, proc.stderr
    loaded = set(json.loads(proc.stdout))
    assert "wirecage.app.up" in loaded  # the check ran the whole path
    assert not (loaded & NOT_ON_THE_UP_PATH)


def test_hidden_records_do_not_import_logging():
    code = """
import sys
from wirecage.logs import configure_logging, get_logger
configure_logging(0)
log = get_logger("wirecage.test")
log.info("hidden %s", 1)
log.debug("hidden too")
print("logging" in sys.modules)
log.warning("shown %s", "here")
print("logging" in sys.modules)
"""
    proc = _python(code)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["False", "True"]
    assert proc.stderr == "wirecage: shown here\n"


@pytest.mark.parametrize(
    ("verbosity", "expected"),
    [
        (-1, ["error e"]),
        (0, ["warning w", "error e"]),
        (1, ["debug d", "info i", "warning w", "error e"]),
    ],
)
def test_verbosity_chooses_the_records(verbosity, expected):
    code = f"""
from wirecage.logs import configure_logging, get_logger
configure_logging({verbosity})
log = get_logger("wirecage")
log.debug("debug %s", "d")
log.info("info %s", "i")
log.warning("warning %s", "w")
log.error("error %s", "e")
"""
    proc = _python(code)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.splitlines() == [f"wirecage: {text}" for text in expected]


def test_very_verbose_lines_carry_the_time_since_start():
    code = """
from wirecage.logs import configure_logging, get_logger
configure_logging(2)
get_logger("wirecage").info("step")
"""
    proc = _python(code)
    assert proc.returncode == 0, proc.stderr
    prefix, _, rest = proc.stderr.strip().partition(" ms  ")
    assert rest == "step"
    assert prefix.startswith("wirecage: ")
    assert float(prefix.removeprefix("wirecage: ")) >= 0


def test_unconfigured_records_go_to_the_logging_module(caplog):
    import logging

    logs.configure_logging(None)
    with caplog.at_level(logging.DEBUG, logger="wirecage"):
        logs.get_logger("wirecage.test").debug("to %s", "caplog")
    assert [(r.name, r.levelno, r.getMessage()) for r in caplog.records] == [
        ("wirecage.test", logging.DEBUG, "to caplog")
    ]


@pytest.mark.parametrize(
    "argv",
    [
        ["up", "work", "--wait", "--", "ssh", "-v", "host"],
        ["-v", "up", "-q", "--dns", "10.77.0.1", "work"],
        ["--debug", "up", "--wg-endpoint", "h:1", "--wg-address", "10.0.0.2/32", "--", "ls"],
        ["profile", "show", "work", "--json"],
        ["genpsk"],
        ["completion", "fish"],
    ],
)
def test_one_subcommand_parses_as_the_whole_parser_does(argv):
    assert command_word(argv) == next(a for a in argv if not a.startswith("-"))
    only = build_parser(command_word(argv)).parse_args(argv)
    whole = build_parser().parse_args(argv)
    assert vars(only) == vars(whole)


def test_an_unknown_subcommand_gets_the_whole_parser(capsys):
    assert command_word(["-v", "--", "up"]) is None
    assert command_word(["-q"]) is None
    with pytest.raises(SystemExit):
        build_parser(command_word(["bogus"])).parse_args(["bogus"])
    # The error lists every subcommand, as it did before the parser was built in parts.
    assert "'up', 'profile', 'genkey', 'pubkey', 'genpsk', 'completion'" in capsys.readouterr().err


def test_the_program_flushes_its_output_before_it_ends():
    # wirecage.cli.run ends the process with os._exit: a large output through a pipe must
    # still arrive whole (the bash completion script is about 10 kB).
    from wirecage.cli.completion import GENERATORS

    proc = _python("import sys; sys.argv[1:] = ['completion', 'bash']; import wirecage.__main__")
    assert proc.returncode == 0, proc.stderr
    assert len(proc.stdout) > 5000
    assert proc.stdout == GENERATORS["bash"](None)

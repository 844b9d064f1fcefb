"""Writers: read -> write -> read gives an equal Profile, in both formats and across them;
and what we write for wg-quick is accepted by the real wg-quick and wg."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
import textwrap
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from profiles.strategies import key_file_names, profiles, with_key_files
from wirecage.profiles.conf import read_conf, write_conf
from wirecage.profiles.model import Endpoint
from wirecage.profiles.tomlfmt import read_toml, toml_string, write_toml

FIXTURES = Path(__file__).parent / "fixtures"
# Seeded (derandomized) so that every run explores the same examples: no flaky CI.
PROPERTY = settings(
    derandomize=True,
    deadline=None,
    max_examples=150,
    suppress_health_check=[HealthCheck.too_slow],
)

READERS = {"conf": read_conf, "toml": read_toml}
WRITERS = {"conf": write_conf, "toml": write_toml}


@pytest.mark.parametrize("fmt", ["conf", "toml"])
@PROPERTY
@given(profile=profiles())
def test_write_then_read_gives_an_equal_profile(fmt, profile):
    text = WRITERS[fmt](profile)
    again, warnings = READERS[fmt](text, source=f"p.{fmt}")
    assert again == profile
    assert warnings == []
    # Writing is a fixed point: the normal form does not drift.
    assert WRITERS[fmt](again) == text


@PROPERTY
@given(profile=profiles())
def test_conf_to_toml_to_conf_keeps_the_profile(profile):
    via_toml, _ = read_toml(write_toml(profile), source="p.toml")
    back, _ = read_conf(write_conf(via_toml), source="p.conf")
    assert back == profile


@pytest.mark.parametrize("fmt", ["conf", "toml"])
@PROPERTY
@given(profile=profiles(), names=st.lists(key_file_names, min_size=1, max_size=3))
def test_key_file_references_round_trip(fmt, profile, names):
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        profile = with_key_files(profile, directory, names)
        text = WRITERS[fmt](profile)
        # The secrets stay in their files: the text holds only references.
        for key in ("PrivateKey", "PresharedKey", "private_key =", "preshared_key ="):
            assert key not in text
        again, warnings = READERS[fmt](text, source=f"p.{fmt}", base_dir=directory)
        assert again == profile
        assert warnings == []


@PROPERTY
@given(st.text(st.characters(codec="utf-8", exclude_categories=("Cs",))))
def test_toml_strings_escape_everything_tomllib_needs(text):
    import tomllib

    assert tomllib.loads(f"s = {toml_string(text)}")["s"] == text


@pytest.mark.parametrize(
    "name", ["provider.conf", "windows.conf", "keyfiles.conf", "handwritten.toml", "keyfiles.toml"]
)
def test_fixtures_round_trip_through_both_writers(name, tmp_path):
    for item in ("keys",):
        shutil.copytree(FIXTURES / item, tmp_path / item)
        for key in (tmp_path / item).iterdir():
            key.chmod(0o600)
    path = FIXTURES / name
    reader = read_toml if path.suffix == ".toml" else read_conf
    text = path.read_bytes().decode("utf-8")
    profile, _ = reader(text, source=name, base_dir=tmp_path)
    for fmt in ("conf", "toml"):
        again, _ = READERS[fmt](WRITERS[fmt](profile), source=fmt, base_dir=tmp_path)
        assert again == profile


def test_conf_and_toml_fixtures_describe_the_same_tunnel(tmp_path):
    shutil.copytree(FIXTURES / "keys", tmp_path / "keys")
    for key in (tmp_path / "keys").iterdir():
        key.chmod(0o600)
    conf, _ = read_conf((FIXTURES / "keyfiles.conf").read_text(), source="c", base_dir=tmp_path)
    toml, _ = read_toml((FIXTURES / "keyfiles.toml").read_text(), source="t", base_dir=tmp_path)
    assert conf == toml


# --- the real wg-quick and wg accept what we write ---------------------------------------------

WG_QUICK_CHECK = textwrap.dedent(
    """\
    set -eu
    # A private network namespace: the interface and its socket vanish with this shell.
    name="$1"; conf="$2"
    wg-quick strip "$conf" > "$conf.stripped"
    wireguard-go -f "$name" >/dev/null 2>&1 &
    goproc=$!
    trap 'kill $goproc 2>/dev/null; wait $goproc 2>/dev/null || true' EXIT
    for _ in $(seq 100); do [ -S "/var/run/wireguard/$name.sock" ] && break; sleep 0.1; done
    wg setconf "$name" "$conf.stripped"
    wg showconf "$name"
    """
)


def _wg_tools_or_skip() -> None:
    missing = [t for t in ("wg", "wg-quick", "wireguard-go", "unshare") if not shutil.which(t)]
    if missing:
        pytest.skip(f"needs {', '.join(missing)} (scripts/setup.sh installs them)")
    if os.geteuid() != 0:
        pytest.skip("needs root: wireguard-go creates a TUN device in a network namespace")


def test_wg_quick_and_wg_accept_the_written_conf(tmp_path):
    _wg_tools_or_skip()
    shutil.copytree(FIXTURES / "keys", tmp_path / "keys")
    for key in (tmp_path / "keys").iterdir():
        key.chmod(0o600)
    provider, _ = read_conf((FIXTURES / "provider.conf").read_text(), source="provider.conf")
    # wg resolves host names, and tests send nothing beyond their own namespaces: use a literal.
    *kept, named = provider.peers
    literal = named.replace(endpoint=Endpoint("198.51.100.9", 443))
    provider = provider.replace(peers=(*kept, literal))
    keyfiles, _ = read_conf(
        (FIXTURES / "keyfiles.conf").read_text(), source="keyfiles.conf", base_dir=tmp_path
    )
    for index, profile in enumerate((provider, keyfiles)):
        name = f"wct{os.getpid() % 10000}x{index}"
        conf = tmp_path / f"{name}.conf"
        conf.write_text(write_conf(profile))
        conf.chmod(0o600)
        proc = subprocess.Popen(
            ["unshare", "--net", "sh", "-c", WG_QUICK_CHECK, "sh", name, str(conf)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=tmp_path,
            start_new_session=True,
        )
        try:
            shown, errors = proc.communicate(timeout=120)
        finally:
            # Whatever happened, no wireguard-go outlives the test.
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        assert proc.returncode == 0, errors
        # wg's own rendering of what it accepted: each peer, its endpoint and AllowedIPs.
        for peer in profile.peers:
            assert f"PublicKey = {peer.public_key}" in shown
        if profile.interface.private_key_file is None:
            assert f"PrivateKey = {profile.interface.private_key.to_base64()}" in shown
        if profile is provider:
            assert "Endpoint = 198.51.100.7:51820" in shown
            assert "Endpoint = [2001:db8::7]:51821" in shown
            assert "AllowedIPs = 10.77.0.1/32, 192.168.0.0/16, fd77::1/128" in shown
            assert "Endpoint = 198.51.100.9:443" in shown
            assert "PersistentKeepalive = 25" in shown

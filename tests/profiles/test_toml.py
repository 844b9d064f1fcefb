"""Reading TOML profiles: the hand-written fixture, and every bad input by its key path."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from profiles.keys import CLIENT_PRIVATE, PEER1_PUBLIC, PSK, SERVER_PUBLIC
from wirecage.errors import ProfileError
from wirecage.profiles.model import Endpoint
from wirecage.profiles.tomlfmt import read_toml

FIXTURES = Path(__file__).parent / "fixtures"


def test_handwritten_fixture():
    path = FIXTURES / "handwritten.toml"
    profile, warnings = read_toml(path.read_text(), source=str(path), path=path)
    iface = profile.interface
    assert iface.private_key.to_base64() == CLIENT_PRIVATE
    assert [str(a) for a in iface.addresses] == ["10.77.0.2/32", "fd77::2/128"]
    assert [str(a) for a in iface.dns] == ["10.77.0.1"]
    assert iface.dns_search == ("corp.example",)
    assert iface.mtu == 1420
    (peer,) = profile.peers
    assert str(peer.public_key) == SERVER_PUBLIC
    assert peer.endpoint == Endpoint("2001:db8::1", 51820)
    # One string, comma-separated, is a list.
    assert [str(n) for n in peer.allowed_ips] == ["0.0.0.0/0", "::/0"]
    assert peer.persistent_keepalive == 25
    assert profile.format == "toml" and profile.path == path
    assert warnings == []


def test_key_files_relative_to_the_profile(tmp_path):
    shutil.copy(FIXTURES / "keyfiles.toml", tmp_path)
    shutil.copytree(FIXTURES / "keys", tmp_path / "keys")
    for key in (tmp_path / "keys").iterdir():
        key.chmod(0o600)
    text = (tmp_path / "keyfiles.toml").read_text()
    profile, warnings = read_toml(text, source="k.toml", base_dir=tmp_path)
    assert profile.interface.private_key.to_base64() == CLIENT_PRIVATE
    assert profile.interface.private_key_file == Path("keys/client.key")
    assert profile.peers[0].preshared_key.to_base64() == PSK
    assert warnings == []


IFACE = f'[interface]\nprivate_key = "{CLIENT_PRIVATE}"\naddress = "10.77.0.2/32"\n'
PEER = f'[[peer]]\npublic_key = "{SERVER_PUBLIC}"\nallowed_ips = "0.0.0.0/0"\n'


def iface(*lines: str) -> str:
    return IFACE + "".join(line + "\n" for line in lines) + PEER


def peer(*lines: str) -> str:
    return IFACE + PEER + "".join(line + "\n" for line in lines)


BAD_CASES = {
    "not toml at all": ("[Interface]\nPrivateKey = abc\n", 2, None, "not valid TOML"),
    "unknown peer key": (peer('allowd_ips = "10.0.0.0/8"'), 7, "peer[0].allowd_ips",
                         "did you mean allowed_ips?"),
    "unknown interface key": (iface("colour = 1"), 4, "interface.colour", "unknown key"),
    "unknown top-level key": ("peers = []\n" + IFACE + PEER, 1, "peers", "did you mean peer?"),
    "interface not a table": ('interface = "x"\n' + PEER, 1, "interface", "must be a table"),
    "peer not an array of tables": ('peer = "x"\n' + IFACE, 1, "peer", "array of tables"),
    "no interface": (PEER, None, None, "no [interface]"),
    "no peer": (IFACE, None, None, "no [[peer]]"),
    "private key missing": ('[interface]\naddress = "10.77.0.2/32"\n' + PEER, 1,
                            "interface.private_key", "missing"),
    "private key malformed": (
        '[interface]\nprivate_key = "abc"\naddress = "10.77.0.2/32"\n' + PEER, 2,
        "interface.private_key", "exactly 44"),
    "private key not a string": (
        '[interface]\nprivate_key = 42\naddress = "10.77.0.2/32"\n' + PEER, 2,
        "interface.private_key", "must be a string"),
    "private key and key file": (iface('private_key_file = "k"'), 2, "interface.private_key",
                                 "not both"),
    "no address": (f'[interface]\nprivate_key = "{CLIENT_PRIVATE}"\n' + PEER, 1,
                   "interface.address", "missing"),
    "address list of numbers": (
        f'[interface]\nprivate_key = "{CLIENT_PRIVATE}"\naddress = [1, 2]\n' + PEER, 3,
        "interface.address", "list of strings"),
    "bad address": (
        f'[interface]\nprivate_key = "{CLIENT_PRIVATE}"\naddress = "10.0.0.1/99"\n' + PEER, 3,
        "interface.address", "10.0.0.1/99"),
    "mtu a string": (iface('mtu = "1420"'), 4, "interface.mtu", "whole number, not a string"),
    "mtu a boolean": (iface("mtu = true"), 4, "interface.mtu", "not a boolean"),
    "mtu too small": (iface("mtu = 500"), 4, "interface.mtu", "outside 576-65535"),
    "mtu negative": (iface("mtu = -1"), 4, "interface.mtu", "negative"),
    "mtu too small for ipv6": (
        f'[interface]\nprivate_key = "{CLIENT_PRIVATE}"\naddress = "fd77::2"\nmtu = 1000\n' + PEER,
        4, "interface.mtu", "1280"),
    "listen port too large": (iface("listen_port = 70000"), 4, "interface.listen_port", "65535"),
    "bad dns": (iface('dns = ["1.1.1.1", "not a domain"]'), 4, "interface.dns", "neither"),
    "peer without public key": (IFACE + '[[peer]]\nallowed_ips = "10.0.0.0/8"\n', 4,
                                "peer[0].public_key", "missing"),
    "duplicate peers": (
        IFACE + PEER + f'[[peer]]\npublic_key = "{SERVER_PUBLIC}"\n', 8, "peer[1].public_key",
        "same public key as the peer on line 4"),
    "overlapping allowed ips": (
        IFACE + PEER + f'[[peer]]\npublic_key = "{PEER1_PUBLIC}"\nallowed_ips = "10.9.0.0/16"\n',
        9, "peer[1].allowed_ips", "overlaps 0.0.0.0/0"),
    "bad endpoint": (peer('endpoint = "example.net"'), 7, "peer[0].endpoint", "port"),
    "endpoint port out of range": (peer('endpoint = "[2001:db8::1]:65536"'), 7,
                                   "peer[0].endpoint", "outside 1-65535"),
    "keepalive out of range": (peer("persistent_keepalive = 65536"), 7,
                               "peer[0].persistent_keepalive", "outside 0-65535"),
    "keepalive a float": (peer("persistent_keepalive = 2.5"), 7,
                          "peer[0].persistent_keepalive", "whole number"),
    "preshared key and file": (peer(f'preshared_key = "{PSK}"', 'preshared_key_file = "x"'), 7,
                               "peer[0].preshared_key", "not both"),
    "preshared key file missing": (peer('preshared_key_file = "nothere.psk"'), 7,
                                   "peer[0].preshared_key_file", "No such file"),
    # A secret where a name or another value goes is described, never repeated.
    "a key as a key name": (iface(f'"{CLIENT_PRIVATE}" = 1'), None, "interface.(hidden)",
                            "its name looks like a key"),
    "a key as a peer key name": (peer(f'"{PSK}" = true'), None, "peer[0].(hidden)",
                                 "not shown"),
    "a key as a top-level name": (f'"{CLIENT_PRIVATE}" = 1\n' + IFACE + PEER, None, "(hidden)",
                                  "not shown"),
    "a key as the address": (
        f'[interface]\nprivate_key = "{CLIENT_PRIVATE}"\naddress = "{CLIENT_PRIVATE}"\n' + PEER,
        3, "interface.address", "looks like a key (not shown)"),
    "a key as the endpoint": (peer(f'endpoint = "{PSK}:51820"'), 7, "peer[0].endpoint",
                              "not shown"),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(BAD_CASES))
def test_bad_input_names_file_line_and_key(case, tmp_path):
    text, line, key, fragment = BAD_CASES[case]
    path = tmp_path / "bad.toml"
    with pytest.raises(ProfileError) as info:
        read_toml(text, source=str(path), path=path, base_dir=tmp_path)
    lines = info.value.problems or [info.value.message]
    start = f"{path}:{line}: " if line is not None else f"{path}: "
    if key:
        start += f"{key}: "
    assert any(p.startswith(start) and fragment in p for p in lines), (start, fragment, lines)
    assert all(CLIENT_PRIVATE not in p and PSK not in p for p in lines)
    assert all(CLIENT_PRIVATE[:24] not in p and PSK[:24] not in p for p in lines)


def test_unknown_key_is_reported_even_without_a_line():
    # An inline table: the scan cannot find lines, the key path is still exact.
    text = f'peer = [{{public_key = "{SERVER_PUBLIC}", allowd_ips = "10.0.0.0/8"}}]\n' + IFACE
    with pytest.raises(ProfileError) as info:
        read_toml(text, source="inline.toml")
    assert "inline.toml: peer[0].allowd_ips: unknown key (did you mean allowed_ips?)" in (
        info.value.problems
    )


def test_a_list_with_a_wrong_item_says_which_item():
    text = f'[interface]\nprivate_key = "{CLIENT_PRIVATE}"\naddress = ["10.0.0.1", 5, true]\n'
    with pytest.raises(ProfileError) as info:
        read_toml(text + PEER, source="l.toml")
    assert info.value.problems == [
        "l.toml:3: interface.address: must be a string or a list of strings; "
        "item 2 is a number, item 3 is a boolean"
    ]


def test_a_value_that_is_not_a_list_still_says_what_it_is():
    with pytest.raises(ProfileError) as info:
        read_toml(peer("").replace('allowed_ips = "0.0.0.0/0"', "allowed_ips = 1"), source="n.toml")
    assert info.value.problems == [
        "n.toml:6: peer[0].allowed_ips: must be a string or a list of strings, not a number"
    ]


def test_a_no_break_space_in_a_list_item_is_not_stripped():
    with pytest.raises(ProfileError) as info:
        read_toml(iface().replace('"10.77.0.2/32"', '"10.77.0.2/32\u00a0, 10.77.0.3/32 "'),
                  source="s.toml")  # fmt: skip
    assert info.value.problems == [
        "s.toml:3: interface.address: '10.77.0.2/32\\xa0' is not an IPv4 or IPv6 address "
        "with an optional /prefix"
    ]


@pytest.mark.parametrize(
    "line, expected",
    [
        # A basic string may hold any control character: one problem stays on one line.
        ('endpoint = "vpn\\nexample:1"', "e.toml:7: peer[0].endpoint: 'vpn\\nexample' is not a "
         "host name or an IP address"),
        ('"colour\\u001b[2J" = 1', "e.toml: peer[0].colour\\x1b[2J: unknown key"),
    ],
)  # fmt: skip
def test_control_characters_are_escaped_in_messages(line, expected):
    with pytest.raises(ProfileError) as info:
        read_toml(peer(line), source="e.toml")
    assert info.value.problems == [expected]
    assert all("\n" not in p and "\x1b" not in p for p in info.value.problems)

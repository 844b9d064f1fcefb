"""Reading wg-quick .conf files: the fixtures as providers write them, and every bad input."""

from __future__ import annotations

import ipaddress
import os
import shutil
from pathlib import Path

import pytest

from profiles.keys import (
    CLIENT_PRIVATE,
    CLIENT_PUBLIC,
    PEER1_PUBLIC,
    PEER2_PUBLIC,
    PEER3_PUBLIC,
    PSK,
    SERVER_PUBLIC,
)
from wirecage.errors import ProfileError
from wirecage.profiles.conf import read_conf
from wirecage.profiles.model import Endpoint
from wirecage.profiles.validate import decode_text

FIXTURES = Path(__file__).parent / "fixtures"


def read_fixture(name: str, base_dir: Path | None = None):
    path = FIXTURES / name
    text = decode_text(path.read_bytes(), str(path))
    return read_conf(text, source=str(path), path=path, base_dir=base_dir or path.parent)


def test_provider_config_with_three_peers_comments_hooks_and_lowercase_keys():
    profile, warnings = read_fixture("provider.conf")
    iface = profile.interface
    assert iface.private_key.to_base64() == CLIENT_PRIVATE
    assert str(iface.public_key) == CLIENT_PUBLIC
    assert [str(a) for a in iface.addresses] == ["10.77.0.2/32", "fd77::2/128"]
    assert [str(a) for a in iface.dns] == ["10.77.0.1", "fd77::1"]
    assert iface.dns_search == ("corp.example",)
    assert iface.mtu == 1420
    assert iface.listen_port is None
    assert [str(p.public_key) for p in profile.peers] == [PEER1_PUBLIC, PEER2_PUBLIC, PEER3_PUBLIC]

    first, second, third = profile.peers
    assert first.preshared_key is not None and first.preshared_key.to_base64() == PSK
    # "Allowed IPs" with a space, a bare address (/32), a repeated lowercase allowedips line.
    assert [str(n) for n in first.allowed_ips] == ["10.77.0.1/32", "192.168.0.0/16", "fd77::1/128"]
    assert first.endpoint == Endpoint("198.51.100.7", 51820)
    assert first.persistent_keepalive == 25
    assert second.endpoint == Endpoint("2001:db8::7", 51821)
    assert str(second.endpoint) == "[2001:db8::7]:51821"
    assert second.persistent_keepalive is None  # "off"
    assert third.endpoint == Endpoint("vpn.example.net", 443)
    assert [str(n) for n in third.allowed_ips] == ["10.78.0.0/16", "fd78::/64"]

    assert profile.ignored == ("PostUp", "PreDown", "Table")
    assert profile.format == "conf"
    assert warnings == []


def test_byte_order_mark_and_crlf_line_ends():
    assert (FIXTURES / "windows.conf").read_bytes().startswith(b"\xef\xbb\xbf[Interface]\r\n")
    profile, _ = read_fixture("windows.conf")
    assert profile.interface.addresses == (ipaddress.ip_interface("10.77.0.2/24"),)
    assert str(profile.peers[0].public_key) == SERVER_PUBLIC


def test_whitespace_inside_lines_is_ignored_as_wg_does():
    text = (
        "[ Inter face ]\n Private Key = " + CLIENT_PRIVATE + "\nAddress=10.77.0.2/32\t fd77::2\n"
        "[Peer]\nPublic Key = " + SERVER_PUBLIC + "\nAllowed IPs = 0.0.0.0 / 0 , ::/0\n"
        "End point = 198.51.100.1 : 51820\n"
    )
    profile, _ = read_conf(text, source="ws.conf")
    assert [str(a) for a in profile.interface.addresses] == ["10.77.0.2/32", "fd77::2/128"]
    assert [str(n) for n in profile.peers[0].allowed_ips] == ["0.0.0.0/0", "::/0"]
    assert profile.peers[0].endpoint == Endpoint("198.51.100.1", 51820)


def test_host_bits_in_allowed_ips_are_cleared_like_the_kernel_does():
    text = f"[Interface]\nPrivateKey={CLIENT_PRIVATE}\nAddress=10.77.0.2/24\n"
    text += f"[Peer]\nPublicKey={SERVER_PUBLIC}\nAllowedIPs=10.77.0.9/24\n"
    profile, _ = read_conf(text, source="t.conf")
    assert [str(n) for n in profile.peers[0].allowed_ips] == ["10.77.0.0/24"]


def copy_keyfiles(tmp_path: Path, name: str, mode: int) -> Path:
    shutil.copy(FIXTURES / name, tmp_path / name)
    shutil.copytree(FIXTURES / "keys", tmp_path / "keys")
    for key in (tmp_path / "keys").iterdir():
        key.chmod(mode)
    return tmp_path / name


def test_key_files_named_by_the_wg_quick_postup_idiom(tmp_path):
    path = copy_keyfiles(tmp_path, "keyfiles.conf", 0o600)
    profile, warnings = read_conf(path.read_text(), source=str(path), base_dir=tmp_path)
    assert profile.interface.private_key.to_base64() == CLIENT_PRIVATE
    assert profile.interface.private_key_file == Path("keys/client.key")
    peer = profile.peers[0]
    assert peer.preshared_key is not None and peer.preshared_key.to_base64() == PSK
    assert peer.preshared_key_file == Path("keys/psk.key")
    # The two PostUp lines are understood, not ignored.
    assert profile.ignored == ()
    assert warnings == []


def test_group_readable_key_file_gets_a_chmod_warning(tmp_path):
    path = copy_keyfiles(tmp_path, "keyfiles.conf", 0o644)
    _, warnings = read_conf(path.read_text(), source=str(path), base_dir=tmp_path)
    assert len(warnings) == 2
    assert all("readable by group or others" in w and "chmod 600" in w for w in warnings)
    assert str(tmp_path / "keys" / "client.key") in warnings[0]


def test_hook_values_are_verbatim_so_hash_is_not_a_comment_there(tmp_path):
    (tmp_path / "my#key").write_text(CLIENT_PRIVATE + "\n")
    (tmp_path / "my#key").chmod(0o600)
    text = (
        "[Interface]\nAddress = 10.77.0.2/32\nPostUp = wg set %i private-key 'my#key'\n"
        f"[Peer]\nPublicKey = {SERVER_PUBLIC}\nAllowedIPs = 0.0.0.0/0\n"
    )
    profile, _ = read_conf(text, source="hash.conf", base_dir=tmp_path)
    assert profile.interface.private_key_file == Path("my#key")
    assert profile.interface.private_key.to_base64() == CLIENT_PRIVATE


def test_every_problem_in_a_file_is_reported_at_once():
    text = (
        "[Interface]\nPrivateKey = short=\nMTU = 99\n"
        "[Peer]\nEndpoint = nowhere\n"
        f"[Peer]\nPublicKey = {SERVER_PUBLIC}\nPersistentKeepalive = 70000\n"
    )
    with pytest.raises(ProfileError) as info:
        read_conf(text, source="many.conf")
    problems = info.value.problems
    assert problems == [
        "many.conf:1: Address: missing: the cage needs at least one tunnel address",
        "many.conf:2: PrivateKey: a key is exactly 44 base64 characters, this one has 6 "
        "(a key is 44 base64 characters as printed by 'wirecage genkey' or 'wg genkey')",
        "many.conf:3: MTU: 99 is outside 576-65535",
        "many.conf:4: PublicKey: missing: every peer needs a public key",
        "many.conf:5: Endpoint: 'nowhere' is not host:port (the port is required)",
        "many.conf:8: PersistentKeepalive: 70000 is outside 0-65535 (or off)",
    ]
    assert "many.conf: invalid profile (6 problems)" == info.value.message


# --- one case per bad input: (text, line, key, what the message says) ---------------------------

GOOD_IFACE = f"[Interface]\nPrivateKey = {CLIENT_PRIVATE}\nAddress = 10.77.0.2/32\n"
GOOD_PEER = f"[Peer]\nPublicKey = {SERVER_PUBLIC}\nAllowedIPs = 0.0.0.0/0\n"


def iface(*lines: str) -> str:
    return GOOD_IFACE + "".join(line + "\n" for line in lines) + GOOD_PEER


def peer(*lines: str) -> str:
    return GOOD_IFACE + GOOD_PEER + "".join(line + "\n" for line in lines)


BAD_CASES = {
    "private key missing": (
        f"[Interface]\nAddress = 10.77.0.2/32\n{GOOD_PEER}", 1, "PrivateKey", "missing"),
    "private key too short": (
        f"[Interface]\nPrivateKey = {CLIENT_PRIVATE[:40]}=\nAddress = 10.77.0.2/32\n{GOOD_PEER}",
        2, "PrivateKey", "exactly 44 base64 characters"),
    "private key not base64": (
        f"[Interface]\nPrivateKey = {'!' * 43}=\nAddress = 10.77.0.2/32\n{GOOD_PEER}",
        2, "PrivateKey", "base64"),
    "public key not canonical": (
        GOOD_IFACE + "[Peer]\nPublicKey = " + "A" * 42 + "B=\n", 5, "PublicKey", "canonical"),
    "public key with two padding characters": (
        GOOD_IFACE + "[Peer]\nPublicKey = " + "A" * 42 + "==\n", 5, "PublicKey", "single '='"),
    "preshared key malformed": (peer("PresharedKey = abc"), 7, "PresharedKey", "44 base64"),
    "no address": (
        f"[Interface]\nPrivateKey = {CLIENT_PRIVATE}\n{GOOD_PEER}", 1, "Address", "missing"),
    "bad address": (iface("Address = 10.77.0.300/32"), 4, "Address", "not an IPv4 or IPv6"),
    "address prefix too long": (iface("Address = 10.77.0.3/33"), 4, "Address", "10.77.0.3/33"),
    "no peer": (GOOD_IFACE, None, None, "no [Peer]"),
    "no interface": (GOOD_PEER, None, None, "no [Interface] section"),
    "second interface": (GOOD_IFACE + GOOD_IFACE + GOOD_PEER, 4, "[Interface]", "second"),
    "peer without public key": (
        GOOD_IFACE + GOOD_PEER + "[Peer]\nAllowedIPs = 10.0.0.0/8\n", 7, "PublicKey", "missing"),
    "two peers with the same key": (
        GOOD_IFACE + GOOD_PEER + f"[Peer]\nPublicKey = {SERVER_PUBLIC}\n",
        8, "PublicKey", "same public key as the peer on line 4"),
    "peer with the interface's own public key": (
        GOOD_IFACE + f"[Peer]\nPublicKey = {CLIENT_PUBLIC}\n", 5, "PublicKey",
        "the interface's own public key"),
    "overlapping allowed ips": (
        GOOD_IFACE + GOOD_PEER + f"[Peer]\nPublicKey = {PEER1_PUBLIC}\nAllowedIPs = 10.1.0.0/16\n",
        9, "AllowedIPs", "10.1.0.0/16 overlaps 0.0.0.0/0 of the peer on line 4"),
    "bad allowed ips": (peer("AllowedIPs = ::/0, 10.0.0.0/40"), 7, "AllowedIPs", "10.0.0.0/40"),
    "endpoint without port": (peer("Endpoint = 198.51.100.1"), 7, "Endpoint", "port"),
    "endpoint port out of range": (
        peer("Endpoint = 198.51.100.1:70000"), 7, "Endpoint", "70000 is outside 1-65535"),
    "endpoint port zero": (peer("Endpoint = 198.51.100.1:0"), 7, "Endpoint", "outside 1-65535"),
    "endpoint port not a number": (peer("Endpoint = host.example:wg"), 7, "Endpoint", "'wg'"),
    "endpoint ipv6 without brackets": (
        peer("Endpoint = 2001:db8::1:51820"), 7, "Endpoint", "in brackets"),
    "endpoint bracket not ipv6": (
        peer("Endpoint = [198.51.100.1]:51820"), 7, "Endpoint", "not an IPv6 address"),
    "endpoint bad host name": (peer("Endpoint = bad_host!.example:51820"), 7, "Endpoint", "host"),
    "endpoint bad ipv4": (peer("Endpoint = 198.51.100.300:51820"), 7, "Endpoint", "IPv4"),
    "mtu too small": (iface("MTU = 575"), 4, "MTU", "575 is outside 576-65535"),
    "mtu too large": (iface("MTU = 65536"), 4, "MTU", "outside 576-65535"),
    "mtu not a number": (iface("MTU = auto"), 4, "MTU", "not a whole number"),
    "mtu too small for ipv6": (iface("Address = fd77::2/128", "MTU = 1279"), 5, "MTU", "1280"),
    "keepalive out of range": (
        peer("PersistentKeepalive = 65536"), 7, "PersistentKeepalive", "outside 0-65535"),
    "keepalive not a number": (
        peer("PersistentKeepalive = always"), 7, "PersistentKeepalive", "or off"),
    "listen port out of range": (iface("ListenPort = 65536"), 4, "ListenPort", "outside 0-65535"),
    "dns entry neither ip nor domain": (iface("DNS = 10.0.0.256"), 4, "DNS", "neither an IP"),
    "dns search domain malformed": (iface("DNS = bad..example"), 4, "DNS", "neither an IP"),
    "unknown key": (peer("AllowedIP = 10.0.0.0/8"), 7, "AllowedIP", "did you mean AllowedIPs?"),
    "unknown key without suggestion": (iface("Colour = blue"), 4, "Colour", "unknown key"),
    "key in the wrong section": (iface("Endpoint = 198.51.100.1:1"), 4, "Endpoint", "[Peer]"),
    "unknown section": ("[Interfaces]\n" + GOOD_IFACE + GOOD_PEER, 1, "[Interfaces]", "unknown"),
    "key outside any section": ("MTU = 1420\n" + GOOD_IFACE + GOOD_PEER, 1, "MTU", "outside"),
    "line without equals sign": (iface("just some words"), 4, "", "neither a [Section]"),
    "key given twice": (iface("PrivateKey = " + CLIENT_PRIVATE), 4, "PrivateKey", "line 2"),
    # The '=' such a line has is the key's padding: the line must not come back as a key name.
    "private key without an equals sign": (
        f"[Interface]\nPrivateKey {CLIENT_PRIVATE}\nAddress = 10.77.0.2/32\n{GOOD_PEER}",
        2, "PrivateKey", "no '=' between the name and the value (not shown)"),
    "preshared key after a colon": (peer(f"PresharedKey: {PSK}"), 7, "PresharedKey", "no '='"),
    "a key on a line of its own": (iface(CLIENT_PRIVATE), 4, "", "looks like a key without"),
    "amnezia keys": (iface("Jc = 4", "Jmin = 40", "H1 = 1"), 4, "Jc", "AmneziaWG"),
    "key set by a hook wirecage cannot follow": (
        "[Interface]\nAddress = 10.77.0.2/32\nPostUp = wg set %i private-key <(pass wg/k)\n"
        + GOOD_PEER, 1, "PrivateKey", "a cage runs no hooks"),
    "private key twice through a hook": (
        iface("PostUp = wg set %i private-key /k"), 4, "PostUp", "PrivateKey is given too"),
    "preshared key hook for an unknown peer": (
        iface(f"PostUp = wg set %i peer {PEER3_PUBLIC} preshared-key /k"), 4, "PostUp",
        "not in this file"),
    "key file missing": (
        "[Interface]\nAddress = 10.77.0.2/32\nPostUp = wg set %i private-key missing.key\n"
        + GOOD_PEER, 3, "PostUp", "No such file"),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(BAD_CASES))
def test_bad_input_names_file_line_and_key(case, tmp_path):
    text, line, key, fragment = BAD_CASES[case]
    path = tmp_path / "bad.conf"
    path.write_text(text)
    with pytest.raises(ProfileError) as info:
        read_conf(text, source=str(path), path=path, base_dir=tmp_path)
    problems = info.value.problems
    if line is None:
        expected_start = f"{path}: "
    elif key:
        expected_start = f"{path}:{line}: {key}: "
    else:
        expected_start = f"{path}:{line}: "
    matching = [p for p in problems if p.startswith(expected_start) and fragment in p]
    assert matching, f"no problem starting {expected_start!r} with {fragment!r} in {problems}"
    for secret in (CLIENT_PRIVATE, PSK):
        assert all(secret not in p for p in problems)
        assert secret not in info.value.message


def test_key_file_that_is_a_directory_is_unreadable(tmp_path):
    (tmp_path / "key").mkdir()
    text = "[Interface]\nAddress=10.77.0.2/32\nPostUp = wg set %i private-key key\n" + GOOD_PEER
    with pytest.raises(ProfileError) as info:
        read_conf(text, source="d.conf", base_dir=tmp_path)
    assert info.value.problems == [
        f"d.conf:3: PostUp: cannot read key file {tmp_path / 'key'}: Is a directory"
    ]


def test_key_file_without_a_key(tmp_path):
    (tmp_path / "key").write_text("not a key\n")
    os.chmod(tmp_path / "key", 0o600)
    text = "[Interface]\nAddress=10.77.0.2/32\nPostUp = wg set %i private-key key\n" + GOOD_PEER
    with pytest.raises(ProfileError) as info:
        read_conf(text, source="k.conf", base_dir=tmp_path)
    (problem,) = info.value.problems
    assert problem.startswith(f"k.conf:3: PostUp: key file {tmp_path / 'key'} does not hold a key")


def test_not_utf8_names_file_and_line():
    with pytest.raises(ProfileError) as info:
        decode_text(b"[Interface]\nAddress = 10.0.0.1\n# caf\xe9\n", "latin1.conf")
    assert info.value.message == "latin1.conf:3: not UTF-8 text"


def test_malformed_private_key_is_never_quoted():
    almost = CLIENT_PRIVATE[:-2] + "?="
    text = f"[Interface]\nPrivateKey = {almost}\nAddress = 10.77.0.2/32\n{GOOD_PEER}"
    with pytest.raises(ProfileError) as info:
        read_conf(text, source="q.conf")
    assert all(CLIENT_PRIVATE[:20] not in p for p in info.value.problems)


@pytest.mark.parametrize(
    "line, key",
    [
        ("Address = {}", "Address"),
        ("DNS = {}", "DNS"),
        ("MTU = {}", "MTU"),
        ("ListenPort = {}", "ListenPort"),
        ("Endpoint = {}", "Endpoint"),
        ("Endpoint = {}:51820", "Endpoint"),
        ("Endpoint = [{}]:51820", "Endpoint"),
        ("Endpoint = 198.51.100.1:{}", "Endpoint"),
        ("AllowedIPs = 10.0.0.0/8, {}", "AllowedIPs"),
        ("PersistentKeepalive = {}", "PersistentKeepalive"),
    ],
)
def test_a_key_pasted_into_another_field_is_described_not_quoted(line, key):
    in_peer = key in ("Endpoint", "AllowedIPs", "PersistentKeepalive")
    text = (peer if in_peer else iface)(line.format(CLIENT_PRIVATE))
    if key == "AllowedIPs":  # the peer's own line would overlap 10.0.0.0/8: not this test
        text = text.replace("AllowedIPs = 0.0.0.0/0\n", "")
    lineno = text.splitlines().index(line.format(CLIENT_PRIVATE)) + 1
    with pytest.raises(ProfileError) as info:
        read_conf(text, source="p.conf")
    (problem,) = info.value.problems
    assert problem.startswith(f"p.conf:{lineno}: {key}: ")
    assert "looks like a key (not shown)" in problem
    # Not the key, nor any long piece of it.
    assert all(CLIENT_PRIVATE[i : i + 12] not in problem for i in range(0, 32))


def test_a_malformed_address_is_not_also_reported_missing():
    text = f"[Interface]\nPrivateKey = {CLIENT_PRIVATE}\nAddress = 10.77.0.300\n{GOOD_PEER}"
    with pytest.raises(ProfileError) as info:
        read_conf(text, source="a.conf")
    assert info.value.problems == [
        "a.conf:3: Address: '10.77.0.300' is not an IPv4 or IPv6 address with an optional /prefix"
    ]


def test_key_file_hook_with_a_shell_comment(tmp_path):
    # wg-quick runs hooks with bash's eval, for which "# ..." after a word is a comment;
    # a '#' inside a word is not.
    for name in ("client.key", "key#1"):
        (tmp_path / name).write_text(CLIENT_PRIVATE + "\n")
        (tmp_path / name).chmod(0o600)
    for hook, expected in [
        ("wg set %i private-key client.key # set by the admin", "client.key"),
        ("wg set %i private-key client.key\t#no space before", "client.key"),
        ("wg set %i private-key key#1", "key#1"),
        ("wg set %i private-key key#1 #comment", "key#1"),
    ]:
        text = f"[Interface]\nAddress = 10.77.0.2/32\nPostUp = {hook}\n" + GOOD_PEER
        profile, _ = read_conf(text, source="c.conf", base_dir=tmp_path)
        assert profile.interface.private_key_file == Path(expected), hook
        assert profile.ignored == ()


HOOK_WORDS = [
    "wg set %i private-key /k # c",
    "wg set %i private-key /k#c",
    "wg set %i private-key 'a #b' #c",
    'wg set %i private-key "a #b"#c',
    "wg set %i private-key a\\ #b",
    "wg set %i private-key a\\#b #c",
    'wg set %i private-key "x\\"#" # c',
    "wg set %i private-key 'x\\' #c",
    "# all of it",
    "echo a,b # c, d",
]


@pytest.mark.parametrize("hook", HOOK_WORDS)
def test_hook_comments_end_where_bash_ends_them(hook):
    import shlex
    import subprocess

    from wirecage.profiles.conf import _without_shell_comment

    bash = shutil.which("bash")
    if bash is None:
        pytest.skip("needs bash")
    # bash's own words for the hook: what wg-quick's eval would run.
    script = 'eval "set -- $1"; for w in "$@"; do printf "%s\\0" "$w"; done'
    out = subprocess.run(
        [bash, "-c", script, "bash", hook], capture_output=True, check=True, timeout=30
    ).stdout
    theirs = out.decode().split("\0")[:-1]
    assert shlex.split(_without_shell_comment(hook)) == theirs


# --- a section header with text after it (two lines joined) ------------------------------------


def test_a_header_joined_with_the_next_line_is_reported_without_the_key():
    # As pasted from a web page that lost the line break.
    text = (
        f"[Interface] PrivateKey = {CLIENT_PRIVATE}\nAddress = 10.77.0.2/32\n"
        f"[Peer]\nPublicKey = {SERVER_PUBLIC}\nAllowedIPs = 0.0.0.0/0\n"
    )
    with pytest.raises(ProfileError) as info:
        read_conf(text, source="oneline.conf")
    # One problem, naming the header; what follows it is read (no "PrivateKey missing").
    assert info.value.problems == [
        "oneline.conf:1: [Interface]: a section header must be alone on its line: "
        "put what follows the ']' on the next line (not shown here)"
    ]
    assert all(CLIENT_PRIVATE[i : i + 12] not in info.value.problems[0] for i in range(32))


def test_a_peer_header_joined_with_a_bad_key_line_reports_both():
    text = GOOD_IFACE + "[Peer]PublicKey = short=\nAllowedIPs = 0.0.0.0/0\n"
    with pytest.raises(ProfileError) as info:
        read_conf(text, source="j.conf")
    assert [p.split(": ")[1] for p in info.value.problems] == ["[Peer]", "PublicKey"]
    assert all(p.startswith("j.conf:4: ") for p in info.value.problems)


def test_an_unknown_section_that_looks_like_a_key_is_not_quoted():
    text = f"[{CLIENT_PRIVATE}]\n" + GOOD_IFACE + GOOD_PEER
    with pytest.raises(ProfileError) as info:
        read_conf(text, source="s.conf")
    assert info.value.problems == [
        "s.conf:1: a section header that looks like a key (not shown) "
        "(a file has one [Interface] and any number of [Peer])"
    ]


# --- control characters in quoted file text ----------------------------------------------------


@pytest.mark.parametrize(
    "line, expected",
    [
        ("\x1b[31mColour = red", "c.conf:4: \\x1b[31mColour: unknown key"),
        ("Col\x00our = red", "c.conf:4: Col\\x00our: unknown key"),
        ("DNS = evil\x07.example", "c.conf:4: DNS: 'evil\\x07.example' is neither an IP address "
         "nor a domain name"),
        ("[Peer\x9b]", "c.conf:4: [Peer\\x9b]: unknown section (a file has one [Interface] and "
         "any number of [Peer])"),
        ("Address = 10.0.0.1\u202e/32", "c.conf:4: Address: '10.0.0.1\\u202e/32' is not an IPv4 "
         "or IPv6 address with an optional /prefix"),
    ],
)  # fmt: skip
def test_control_characters_from_the_file_are_escaped_in_messages(line, expected):
    text = iface(line)
    with pytest.raises(ProfileError) as info:
        read_conf(text, source="c.conf")
    assert expected in info.value.problems


def test_a_file_name_with_an_escape_sequence_is_escaped_too():
    with pytest.raises(ProfileError) as info:
        read_conf(GOOD_IFACE, source="evil\x1b]0;owned\x07.conf")
    assert info.value.message == "evil\\x1b]0;owned\\x07.conf: invalid profile (1 problem)"
    assert info.value.problems == ["evil\\x1b]0;owned\\x07.conf: no [Peer]: a profile needs at "
                                   "least one peer"]  # fmt: skip


# --- whitespace: only what wg removes ------------------------------------------------------------


def test_a_no_break_space_in_a_key_name_is_refused_as_wg_refuses_it():
    text = GOOD_IFACE.replace("PrivateKey", "Private\u00a0Key") + GOOD_PEER
    with pytest.raises(ProfileError) as info:
        read_conf(text, source="nbsp.conf")
    assert (
        "nbsp.conf:2: Private\\xa0Key: unknown key: it holds a space that is not a plain ASCII "
        "space, which wg does not remove (retype the name) (did you mean PrivateKey?)"
    ) in info.value.problems


def test_a_no_break_space_in_a_value_is_part_of_the_value():
    text = iface("Address = 10.77.0.3/32\u00a0") + "Allowed\tIPs\v=\f10.9.0.0/16\n"
    with pytest.raises(ProfileError) as info:
        read_conf(text, source="v.conf")
    # \t, \v and \f are removed as wg removes them; U+00A0 is not.
    assert info.value.problems == [
        "v.conf:4: Address: '10.77.0.3/32\\xa0' is not an IPv4 or IPv6 address with an "
        "optional /prefix"
    ]


# --- %i in key file hooks ------------------------------------------------------------------------


def percent_i_text(tmp_path: Path, hook_path: str) -> str:
    return (
        f"[Interface]\nAddress = 10.77.0.2/32\nPostUp = wg set %i private-key {hook_path}\n"
        f"PostUp = wg set %i peer {SERVER_PUBLIC} preshared-key {tmp_path}/%i-psk.key\n" + GOOD_PEER
    )


def write_key(path: Path, key: str) -> None:
    path.write_text(key + "\n")
    path.chmod(0o600)


def test_percent_i_in_a_key_file_is_the_profile_name_from_the_file_name(tmp_path):
    write_key(tmp_path / "work.key", CLIENT_PRIVATE)
    write_key(tmp_path / "work-psk.key", PSK)
    text = percent_i_text(tmp_path, "'keys dir/../%i.key'")
    (tmp_path / "keys dir").mkdir()
    path = tmp_path / "work.conf"
    profile, _ = read_conf(text, source=str(path), path=path, base_dir=tmp_path)
    assert profile.interface.private_key_file == Path("keys dir/../work.key")
    assert profile.interface.private_key.to_base64() == CLIENT_PRIVATE
    assert profile.peers[0].preshared_key_file == tmp_path / "work-psk.key"
    # Without a path, the source names the file (profile import); a given name comes first.
    again, _ = read_conf(text, source=str(path), base_dir=tmp_path)
    assert again == profile
    write_key(tmp_path / "other.key", CLIENT_PRIVATE)
    write_key(tmp_path / "other-psk.key", PSK)
    named, _ = read_conf(text, source=str(path), path=path, base_dir=tmp_path, name="other")
    assert named.interface.private_key_file == Path("keys dir/../other.key")


def test_percent_i_without_a_file_name_is_a_problem(tmp_path):
    text = percent_i_text(tmp_path, "/k/%i.key")
    with pytest.raises(ProfileError) as info:
        read_conf(text, source="<stdin>")
    assert info.value.problems[0] == (
        "<stdin>:3: PostUp: the key file path holds %i, the interface name, which is not "
        "known here (the profile has no file name): write the path in full"
    )
    assert len(info.value.problems) == 2  # the preshared key's hook, not "PrivateKey missing"


def test_a_quoted_percent_i_stays_literal_as_in_wg_quick(tmp_path):
    write_key(tmp_path / "a%i", CLIENT_PRIVATE)
    text = "[Interface]\nAddress = 10.77.0.2/32\nPostUp = wg set %i private-key a%''i\n"
    profile, _ = read_conf(text + GOOD_PEER, source="w.conf", base_dir=tmp_path)
    assert profile.interface.private_key_file == Path("a%i")


# --- writing key file references ---------------------------------------------------------------


def test_a_home_relative_key_file_is_written_expanded_for_bash(tmp_path, monkeypatch):
    from wirecage.profiles.conf import write_conf

    monkeypatch.setenv("HOME", str(tmp_path))
    write_key(tmp_path / "k", CLIENT_PRIVATE)
    text = "[Interface]\nAddress = 10.77.0.2/32\nPostUp = wg set %i private-key ~/k\n" + GOOD_PEER
    profile, _ = read_conf(text, source="h.conf")
    assert profile.interface.private_key_file == Path("~/k")
    written = write_conf(profile)
    # Quoted, '~/k' would be a file named '~' to bash (and so to wg-quick).
    assert f"PostUp = wg set %i private-key {tmp_path}/k\n" in written


def test_a_literal_percent_i_in_a_key_file_name_is_written_so_wg_quick_keeps_it(tmp_path):
    from wirecage.profiles.conf import write_conf

    write_key(tmp_path / "a%i b", CLIENT_PRIVATE)
    profile, _ = read_conf(GOOD_IFACE + GOOD_PEER, source="l.conf")
    profile = profile.replace(
        interface=profile.interface.replace(private_key_file=tmp_path / "a%i b")
    )
    written = write_conf(profile)
    assert f"PostUp = wg set %i private-key '{tmp_path}/a%''i b'\n" in written
    again, _ = read_conf(written, source="other.conf")
    assert again.interface.private_key_file == tmp_path / "a%i b"


# --- a TOML file whose format was guessed -------------------------------------------------------

BROKEN_TOML = (
    f'[interface]\nprivate_key = "{CLIENT_PRIVATE}"\naddress = ["10.77.0.2/32"\n'
    f'[[peer]]\npublic_key = "{SERVER_PUBLIC}"\nallowed_ips = ["0.0.0.0/0"]\n'
)


@pytest.mark.parametrize("source", ["<stdin>", "profiles/work"])
def test_broken_toml_read_as_conf_reports_the_toml_error(source):
    with pytest.raises(ProfileError) as info:
        read_conf(BROKEN_TOML, source=source)
    assert info.value.message.startswith(f"{source}:4: not valid TOML: ")
    assert CLIENT_PRIVATE not in info.value.message


def test_broken_toml_in_a_dot_conf_file_gets_conf_problems():
    with pytest.raises(ProfileError) as info:
        read_conf(BROKEN_TOML, source="work.conf")
    assert "work.conf:2: private_key: unknown key (did you mean PrivateKey?)" in (
        info.value.problems
    )


def test_a_bad_conf_file_without_extension_keeps_its_conf_problems():
    with pytest.raises(ProfileError) as info:
        read_conf(iface("MTU = 1"), source="<stdin>")
    assert info.value.problems == ["<stdin>:4: MTU: 1 is outside 576-65535"]


def test_the_chmod_fix_is_a_shell_command_for_any_file_name(tmp_path):
    import shlex

    key = tmp_path / "it's here"
    key.write_text(CLIENT_PRIVATE + "\n")
    key.chmod(0o640)
    text = '[Interface]\nAddress = 10.77.0.2/32\nPostUp = wg set %i private-key "it\'s here"\n'
    _, warnings = read_conf(text + GOOD_PEER, source="q.conf", base_dir=tmp_path)
    (warning,) = warnings
    assert warning.endswith(f"fix: chmod 600 '{tmp_path}/it'\"'\"'s here'")
    assert shlex.split(warning.split("fix: ")[1]) == ["chmod", "600", str(key)]


@pytest.mark.parametrize(
    "text, expected",
    [
        (BROKEN_TOML, True),
        ('[interface]\nprivate_key = "x\n', True),  # an unclosed string
        ("  [[peer]\n", True),
        ("address = [\n", True),
        (GOOD_IFACE + GOOD_PEER, False),
        ("[Interface]\n# friendly_name = \"home\"\nPrivateKey = 'x'\n", False),  # a comment
        ('[Interface]\nPostUp = echo a_b = "c"\n', False),
        ("[Interface]\nmtu = 1420\n", False),  # valid TOML is tomllib's to judge
    ],
)
def test_looks_like_toml(text, expected):
    from wirecage.profiles.conf import looks_like_toml

    assert looks_like_toml(text) is expected

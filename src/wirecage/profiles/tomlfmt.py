"""The TOML profile format: the fields of a ``.conf`` file in snake_case, for writing by hand.

::

    [interface]
    private_key = "…"            # or private_key_file = "keys/work.key"
    address = ["10.77.0.2/32", "fd77::2/128"]
    dns = ["10.77.0.1", "corp.example"]
    mtu = 1420                   # optional
    listen_port = 51820          # optional

    [[peer]]
    public_key = "…"
    preshared_key = "…"          # or preshared_key_file = "…"; optional
    endpoint = "vpn.example.net:51820"
    allowed_ips = ["0.0.0.0/0", "::/0"]
    persistent_keepalive = 25    # optional; 0 or "off" for none

A list may be given as one string, split at commas. Reading uses the standard library's
``tomllib``; TOML has no line numbers after parsing, so the lines in messages come from a
light scan of the text for table headers and ``key =`` lines (exact for files written one
key per line; a message without a line still names the key's path, ``peer[1].endpoint``).
Writing is our own: the schema is small and flat, so a few lines of string escaping do.
"""

from __future__ import annotations

import difflib
import re
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from wirecage.errors import ProfileError
from wirecage.profiles.model import Profile
from wirecage.profiles.validate import (
    ASCII_WHITESPACE,
    Draft,
    DraftPeer,
    Problems,
    Where,
    finish,
    looks_like_key,
    parse_address,
    parse_dns_entry,
    parse_endpoint,
    parse_keepalive,
    parse_listen_port,
    parse_mtu,
    parse_network,
    parse_preshared_key,
    parse_private_key,
    parse_public_key,
    printable,
)

T = TypeVar("T")

INTERFACE_KEYS = ("private_key", "private_key_file", "address", "dns", "mtu", "listen_port")
PEER_KEYS = (
    "public_key",
    "preshared_key",
    "preshared_key_file",
    "endpoint",
    "allowed_ips",
    "persistent_keepalive",
)
TOP_KEYS = ("interface", "peer")

NAMES = {
    "interface": "[interface]",
    "peer": "[[peer]]",
    "private_key": "private_key",
    "private_key_file": "private_key_file",
    "public_key": "public_key",
    "address": "address",
}

_HEADER = re.compile(r"^\s*(\[\[?)\s*([A-Za-z0-9_-]+)\s*\]\]?")
_KEY_LINE = re.compile(r"^\s*([A-Za-z0-9_-]+)\s*=")
_TOML_ERROR_AT = re.compile(r"\s*\(at line (\d+), column \d+\)$")


def _key_lines(text: str) -> dict[str, int]:
    """The line of each ``table.key`` path (``peer[0].endpoint``), first occurrence."""
    lines: dict[str, int] = {}
    table = ""
    arrays: dict[str, int] = {}
    for lineno, line in enumerate(text.split("\n"), start=1):
        header = _HEADER.match(line)
        if header:
            bracket, name = header.groups()
            if bracket == "[[":
                index = arrays.get(name, -1) + 1
                arrays[name] = index
                table = f"{name}[{index}]"
            else:
                table = name
            lines.setdefault(table, lineno)
            continue
        key = _KEY_LINE.match(line)
        if key:
            lines.setdefault(f"{table}.{key.group(1)}" if table else key.group(1), lineno)
    return lines


def read_toml(
    text: str,
    *,
    source: str,
    path: Path | None = None,
    base_dir: Path | None = None,
    name: str | None = None,
) -> tuple[Profile, list[str]]:
    """Parse and validate a TOML profile; return the profile and permission warnings.

    ``name`` is accepted for the same signature as ``read_conf``; TOML paths are wirecage's
    own and have no ``%i``.
    """
    del name
    if text.startswith("\ufeff"):
        text = text[1:]
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        at = _TOML_ERROR_AT.search(message)
        at_line = f":{at.group(1)}" if at else ""
        message = _TOML_ERROR_AT.sub("", message)
        raise ProfileError(
            printable(f"{source}{at_line}: not valid TOML: {message}"),
            hint="'man 5 wirecage-profile' shows the TOML schema",
        ) from None

    lines = _key_lines(text)
    problems = Problems(source)
    draft = Draft(names=NAMES, prefix="interface.")

    def where(key_path: str) -> Where:
        return Where(lines.get(key_path), key_path)

    for key in doc:
        if key not in TOP_KEYS:
            _unknown_key("", key, TOP_KEYS, where(key), problems)

    interface = doc.get("interface")
    if interface is not None:
        if not isinstance(interface, dict):
            problems.add(where("interface"), "must be a table: [interface]")
        else:
            draft.interface_where = Where(lines.get("interface"), "[interface]")
            _read_interface(interface, draft, problems, where)

    peers = doc.get("peer", [])
    if not isinstance(peers, list) or not all(isinstance(p, dict) for p in peers):
        problems.add(where("peer"), "must be an array of tables: [[peer]]")
        peers = []
    for index, table in enumerate(peers):
        prefix = f"peer[{index}]"
        peer = DraftPeer(where=Where(lines.get(prefix), prefix), prefix=prefix + ".")
        draft.peers.append(peer)
        _read_peer(table, peer, problems, lambda key, p=prefix: where(f"{p}.{key}"))

    return finish(draft, problems, base_dir=base_dir, path=path, fmt="toml")


def _read_interface(table: dict, draft: Draft, problems: Problems, where) -> None:
    for key, value in table.items():
        w = where(f"interface.{key}")
        if key not in INTERFACE_KEYS:
            _unknown_key("interface.", key, INTERFACE_KEYS, w, problems)
        elif key == "private_key":
            if "private_key_file" in table:
                problems.add(w, "give private_key or private_key_file, not both")
                draft.private_key_where = w
                continue
            draft.private_key = _string(value, w, problems, parse_private_key)
            draft.private_key_where = w
        elif key == "private_key_file":
            file = _string(value, w, problems, Path)
            if "private_key" not in table:
                draft.private_key_file = file
                draft.private_key_where = w
        elif key == "address":
            for item in _strings(value, w, problems):
                addr = problems.attempt(w, parse_address, item)
                if addr is not None:
                    draft.addresses.append(addr)
        elif key == "dns":
            for item in _strings(value, w, problems):
                entry = problems.attempt(w, parse_dns_entry, item)
                if entry is not None:
                    draft.add_dns(entry)
        elif key == "mtu":
            draft.mtu = _number(value, w, problems, parse_mtu)
            draft.mtu_where = w
        elif key == "listen_port":
            draft.listen_port = _number(value, w, problems, parse_listen_port)


def _read_peer(table: dict, peer: DraftPeer, problems: Problems, where) -> None:
    for key, value in table.items():
        w = where(key)
        if key not in PEER_KEYS:
            _unknown_key(peer.prefix, key, PEER_KEYS, w, problems)
        elif key == "public_key":
            peer.public_key = _string(value, w, problems, parse_public_key)
            peer.public_key_where = w
        elif key == "preshared_key":
            peer.preshared_key_where = w
            if "preshared_key_file" in table:
                problems.add(w, "give preshared_key or preshared_key_file, not both")
                continue
            peer.preshared_key = _string(value, w, problems, parse_preshared_key)
        elif key == "preshared_key_file":
            file = _string(value, w, problems, Path)
            if "preshared_key" not in table:
                peer.preshared_key_file = file
                peer.preshared_key_where = w
        elif key == "endpoint":
            peer.endpoint = _string(value, w, problems, parse_endpoint)
        elif key == "allowed_ips":
            for item in _strings(value, w, problems):
                net = problems.attempt(w, parse_network, item)
                if net is not None:
                    peer.allowed_ips.append((net, w))
        elif key == "persistent_keepalive":
            if value == "off":
                peer.persistent_keepalive = None
            else:
                peer.persistent_keepalive = _number(value, w, problems, parse_keepalive)


def _string(value: Any, w: Where, problems: Problems, parse: Callable[[str], T]) -> T | None:
    if not isinstance(value, str):
        problems.add(w, f"must be a string, not {_toml_type(value)}")
        return None
    return problems.attempt(w, parse, value)


def _strings(value: Any, w: Where, problems: Problems) -> list[str]:
    """A list of strings, or one string; either way split at commas."""
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list):
        problems.add(w, f"must be a string or a list of strings, not {_toml_type(value)}")
        return []
    wrong = [n for n, item in enumerate(items, start=1) if not isinstance(item, str)]
    if wrong:
        # The value itself is not repeated: it may be anything, a key included.
        which = ", ".join(f"item {n} is {_toml_type(items[n - 1])}" for n in wrong)
        problems.add(w, f"must be a string or a list of strings; {which}")
        return []
    # Only the whitespace wg and wg-quick remove: U+00A0 and the like make a value wrong.
    parts = (part.strip(ASCII_WHITESPACE) for item in items for part in item.split(","))
    return [part for part in parts if part]


def _number(value: Any, w: Where, problems: Problems, parse: Callable[[str], T]) -> T | None:
    # bool is an int in Python; "mtu = true" is a mistake, not 1.
    if isinstance(value, bool) or not isinstance(value, int):
        problems.add(w, f"must be a whole number, not {_toml_type(value)}")
        return None
    if value < 0:
        problems.add(w, f"{value} is negative")
        return None
    return problems.attempt(w, parse, str(value))


def _toml_type(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "a table"
    return "a date or time"


def _unknown_key(
    prefix: str, key: str, known: tuple[str, ...], w: Where, problems: Problems
) -> None:
    if looks_like_key(key):
        # A secret written where a name goes ("KEY" = ...): say where it is, never what.
        problems.add(
            Where(w.line, prefix + "(hidden)"),
            "unknown key (its name looks like a key, so it is not shown)",
        )
    else:
        problems.add(w, "unknown key" + _did_you_mean(key, known))


def _did_you_mean(key: str, known: tuple[str, ...]) -> str:
    close = difflib.get_close_matches(key.lower(), known, n=1, cutoff=0.75)
    return f" (did you mean {close[0]}?)" if close else ""


# --- writing ----------------------------------------------------------------------------------

_ESCAPES = {
    '"': '\\"',
    "\\": "\\\\",
    "\b": "\\b",
    "\t": "\\t",
    "\n": "\\n",
    "\f": "\\f",
    "\r": "\\r",
}


def toml_string(text: str) -> str:
    """``text`` as a TOML basic string: quotes, backslashes and control characters escaped."""
    out = []
    for ch in text:
        if ch in _ESCAPES:
            out.append(_ESCAPES[ch])
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\u{ord(ch):04X}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def _list(items) -> str:
    return "[" + ", ".join(toml_string(str(i)) for i in items) + "]"


def write_toml(profile: Profile) -> str:
    """The profile as TOML, keys included (key files stay references)."""
    iface = profile.interface
    lines = ["[interface]"]
    if iface.private_key_file is not None:
        lines.append(f"private_key_file = {toml_string(str(iface.private_key_file))}")
    else:
        lines.append(f"private_key = {toml_string(iface.private_key.to_base64())}")
    lines.append(f"address = {_list(iface.addresses)}")
    if iface.dns or iface.dns_search:
        lines.append(f"dns = {_list([*iface.dns, *iface.dns_search])}")
    if iface.mtu is not None:
        lines.append(f"mtu = {iface.mtu}")
    if iface.listen_port is not None:
        lines.append(f"listen_port = {iface.listen_port}")
    for peer in profile.peers:
        lines += ["", "[[peer]]", f"public_key = {toml_string(peer.public_key.to_base64())}"]
        if peer.preshared_key_file is not None:
            lines.append(f"preshared_key_file = {toml_string(str(peer.preshared_key_file))}")
        elif peer.preshared_key is not None:
            lines.append(f"preshared_key = {toml_string(peer.preshared_key.to_base64())}")
        if peer.endpoint is not None:
            lines.append(f"endpoint = {toml_string(str(peer.endpoint))}")
        lines.append(f"allowed_ips = {_list(peer.allowed_ips)}")
        if peer.persistent_keepalive:
            lines.append(f"persistent_keepalive = {peer.persistent_keepalive}")
    return "\n".join(lines) + "\n"

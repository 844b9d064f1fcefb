"""Turning the text of a profile into checked values, and collecting every problem at once.

Both readers (``conf`` and ``tomlfmt``) work the same way: they walk their file, convert each
value with the field parsers below, and note where each value came from (a ``Where``: line
and key). Instead of stopping at the first mistake they add it to a ``Problems`` list and
carry on, so that a user fixing a provider's file sees every problem in one run. What they
gather goes into a ``Draft``; ``finish`` then reads key files, runs the checks that involve
more than one value (duplicate peers, overlapping AllowedIPs, MTU with IPv6, ...) and builds
the immutable ``Profile``, or raises one ProfileError listing everything found.

Messages never contain a secret: a malformed key is described by its length and shape only.
"""

from __future__ import annotations

import ipaddress
import os
import re
import stat
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from wirecage.errors import ProfileError
from wirecage.profiles.model import (
    Endpoint,
    Interface,
    IPAddress,
    IPInterface,
    IPNetwork,
    Peer,
    Profile,
)
from wirecage.wg.keys import KeyFormatError, PresharedKey, PrivateKey, PublicKey, decode_key

T = TypeVar("T")

MTU_MIN = 576
# RFC 8200: every link that carries IPv6 has an MTU of at least 1280.
MTU_MIN_IPV6 = 1280
MTU_MAX = 65535

KEY_HINT = "a key is 44 base64 characters as printed by 'wirecage genkey' or 'wg genkey'"


class FieldError(ValueError):
    """One value is wrong; the message says why (never quoting a secret)."""


# A run of base64 characters no address, port or host name label plausibly has: a key pasted
# into the wrong field, or a line that lost its '='. Such text is described, never repeated.
_KEY_LIKE = re.compile(r"[A-Za-z0-9+/]{24,}")


# What wg and wg-quick take for whitespace: not U+00A0 and the other Unicode spaces.
ASCII_WHITESPACE = " \t\n\r\v\f"


def looks_like_key(text: str) -> bool:
    return _KEY_LIKE.search(text) is not None


# What a terminal would act on or hide rather than show: C0 and C1 controls (ESC starts a
# terminal escape sequence, a newline would split one problem over two lines), DEL,
# invisible or direction-changing format characters, and whitespace other than the ASCII
# space (U+00A0 looks like a space; wg does not treat it as one).
_UNPRINTABLE = re.compile(
    "[\x00-\x1f\x7f-\xa0\xad\u1680\u180e\u2000-\u200f\u2028-\u202f"
    "\u205f-\u206f\u3000\ufeff\ufff9-\ufffb]"
)
_NAMED_ESCAPES = {"\t": "\\t", "\n": "\\n", "\r": "\\r"}


def _escape(match: re.Match[str]) -> str:
    ch = match.group()
    if ch in _NAMED_ESCAPES:
        return _NAMED_ESCAPES[ch]
    return f"\\x{ord(ch):02x}" if ord(ch) < 0x100 else f"\\u{ord(ch):04x}"


def printable(text: str) -> str:
    """``text`` with control and invisible characters written as escapes (``\\x1b``, ``\\n``).

    For every piece of a message that may come from a file: a profile is not trusted to
    drive the user's terminal. Ordinary text, non-ASCII letters included, is unchanged.
    """
    if _UNPRINTABLE.search(text) is None:
        return text
    return _UNPRINTABLE.sub(_escape, text)


def shown(text: str) -> str:
    """``text`` quoted for a message, unless it may hold a secret key."""
    if looks_like_key(text):
        return f"a value of {len(text)} characters that looks like a key (not shown)"
    return f"'{printable(text)}'"


# Plain classes, not dataclasses: every `wirecage up` reads a profile, and generating
# dataclasses costs milliseconds at each start (see "Startup" in docs/architecture.md).


class Where:
    """Where a value was written: its line (None when the format has no lines) and key."""

    __slots__ = ("line", "key")

    def __init__(self, line: int | None, key: str):
        self.line = line
        self.key = key

    def __eq__(self, other: object) -> bool:
        if type(other) is not Where:
            return NotImplemented
        return (self.line, self.key) == (other.line, other.key)

    def __hash__(self) -> int:
        return hash((self.line, self.key))

    def __repr__(self) -> str:
        return f"Where({self.line!r}, {self.key!r})"


class Problems:
    """Every problem of one file, each formatted ``file:line: key: message``."""

    __slots__ = ("source", "items")

    def __init__(self, source: str):
        self.source = source
        self.items: list[tuple[Where | None, str]] = []

    def add(self, where: Where | None, message: str) -> None:
        self.items.append((where, message))

    def attempt(self, where: Where, parse: Callable[[str], T], text: str) -> T | None:
        """``parse(text)``; on FieldError note the problem and return None."""
        try:
            return parse(text)
        except FieldError as exc:
            self.add(where, str(exc))
            return None

    def formatted(self) -> list[str]:
        out = []

        # In file order, so that a user can fix them top to bottom; stable for equal lines.
        def line_of(item: tuple[Where | None, str]) -> float:
            where = item[0]
            return where.line if where is not None and where.line is not None else float("inf")

        for where, message in sorted(self.items, key=line_of):
            if where is None:
                line = f"{self.source}: {message}"
            elif not where.key:
                line = f"{self.source}:{where.line}: {message}"
            elif where.line is None:
                line = f"{self.source}: {where.key}: {message}"
            else:
                line = f"{self.source}:{where.line}: {where.key}: {message}"
            # One problem, one line, whatever the file (or its name) holds.
            out.append(printable(line))
        return out

    def __bool__(self) -> bool:
        return bool(self.items)

    def raise_if_any(self) -> None:
        if self.items:
            count = len(self.items)
            raise ProfileError(
                printable(
                    f"{self.source}: invalid profile ({count} problem{'s' if count > 1 else ''})"
                ),
                problems=self.formatted(),
                hint="'man 5 wirecage-profile' describes both formats",
            )


def decode_text(data: bytes, source: str) -> str:
    """Profile bytes as text: UTF-8, with or without a byte order mark (Windows editors)."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise ProfileError(
            f"{source}:{line}: not UTF-8 text", hint="save the file as UTF-8 text"
        ) from None


# --- single values --------------------------------------------------------------------------


def _key_bytes(text: str) -> bytes:
    try:
        return decode_key(text)
    except KeyFormatError as exc:
        raise FieldError(f"{exc} ({KEY_HINT})") from None


def parse_private_key(text: str) -> PrivateKey:
    return PrivateKey(_key_bytes(text))


def parse_public_key(text: str) -> PublicKey:
    return PublicKey(_key_bytes(text))


def parse_preshared_key(text: str) -> PresharedKey:
    return PresharedKey(_key_bytes(text))


def parse_address(text: str) -> IPInterface:
    """An interface address with its prefix; without one it is a /32 or /128, as in wg-quick."""
    try:
        return ipaddress.ip_interface(text)
    except ValueError:
        raise FieldError(
            f"{shown(text)} is not an IPv4 or IPv6 address with an optional /prefix"
        ) from None


def parse_network(text: str) -> IPNetwork:
    """An AllowedIPs entry. Host bits are cleared the way the kernel clears them for wg."""
    try:
        return ipaddress.ip_network(text, strict=False)
    except ValueError:
        raise FieldError(f"{shown(text)} is not an IPv4 or IPv6 network (address/prefix)") from None


# wg-quick's own test: an entry of digits and dots, or one with a colon, is a nameserver;
# anything else is a search domain.
_LOOKS_LIKE_IP = re.compile(r"^[0-9.]+$|:")
_LABEL = re.compile(r"^[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?$")


def is_hostname(text: str) -> bool:
    name = text[:-1] if text.endswith(".") else text
    if not name or len(name) > 253:
        return False
    return all(_LABEL.match(label) for label in name.split("."))


def parse_dns_entry(text: str) -> IPAddress | str:
    """A nameserver (an IP address) or a search domain, told apart the way wg-quick does."""
    if _LOOKS_LIKE_IP.search(text):
        try:
            return ipaddress.ip_address(text)
        except ValueError:
            raise FieldError(f"{shown(text)} is neither an IP address nor a domain name") from None
    if not is_hostname(text):
        raise FieldError(f"{shown(text)} is neither an IP address nor a domain name")
    return text


def parse_port(text: str, *, allow_zero: bool = False) -> int:
    low = 0 if allow_zero else 1
    if not text.isascii() or not text.isdigit():
        raise FieldError(f"{shown(text)} is not a port number ({low}-65535)")
    port = int(text)
    if not low <= port <= 65535:
        raise FieldError(f"port {port} is outside {low}-65535")
    return port


def parse_endpoint(text: str) -> Endpoint:
    """``host:port`` or ``[v6]:port``; the host is a name or an IP literal."""
    if text.startswith("["):
        close = text.find("]")
        if close < 0 or text[close + 1 : close + 2] != ":":
            raise FieldError(f"{shown(text)} is not host:port or [IPv6]:port")
        host, port_text = text[1:close], text[close + 2 :]
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            raise FieldError(f"{shown(host)} in brackets is not an IPv6 address") from None
    else:
        host, sep, port_text = text.rpartition(":")
        if not sep or not host:
            raise FieldError(f"{shown(text)} is not host:port (the port is required)")
        if ":" in host:
            # DEVIATION: wg splits at the last colon; an unbracketed IPv6 literal is ambiguous
            # (fd00::1:51820 is also a valid address), so we ask for brackets instead.
            raise FieldError(
                f"{shown(text)}: write an IPv6 endpoint in brackets, as [address]:port"
            )
        if re.fullmatch(r"[0-9.]+", host):
            try:
                ipaddress.IPv4Address(host)
            except ValueError:
                raise FieldError(f"{shown(host)} is not a valid IPv4 address") from None
        elif not is_hostname(host):
            raise FieldError(f"{shown(host)} is not a host name or an IP address")
    try:
        port = parse_port(port_text)
    except FieldError as exc:
        raise FieldError(f"endpoint {shown(text)}: {exc}") from None
    return Endpoint(str(ipaddress.ip_address(host)) if ":" in host else host, port)


def parse_int(text: str, low: int, high: int) -> int:
    if not text.isascii() or not text.isdigit():
        raise FieldError(f"{shown(text)} is not a whole number ({low}-{high})")
    value = int(text)
    if not low <= value <= high:
        raise FieldError(f"{value} is outside {low}-{high}")
    return value


def parse_mtu(text: str) -> int:
    return parse_int(text, MTU_MIN, MTU_MAX)


def parse_keepalive(text: str) -> int | None:
    """Seconds between keepalives; ``off`` and 0 both mean none (normalised to None)."""
    if text.lower() == "off":
        return None
    return parse_int(text, 0, 65535) or None


def parse_listen_port(text: str) -> int:
    return parse_port(text, allow_zero=True)


# --- the draft: what a reader gathered, with where it came from -------------------------------


class DraftPeer:
    """A [Peer] as read so far; the reader fills in the fields it finds."""

    def __init__(self, where: Where, prefix: str = ""):
        self.where = where  # the [Peer] header (or the peer[N] table)
        self.prefix = prefix  # put before key names in problems: "" in .conf, "peer[N]." in TOML
        self.public_key: PublicKey | None = None
        self.public_key_where: Where | None = None
        self.preshared_key: PresharedKey | None = None
        self.preshared_key_file: Path | None = None
        self.preshared_key_where: Where | None = None
        self.endpoint: Endpoint | None = None
        self.allowed_ips: list[tuple[IPNetwork, Where]] = []
        self.persistent_keepalive: int | None = None


class Draft:
    """The [Interface] and the peers as read so far; ``finish`` turns it into a Profile."""

    def __init__(self, names: dict[str, str], prefix: str = ""):
        self.names = names  # the format's key names: "private_key", "address", "peer", ...
        self.prefix = prefix  # put before interface key names: "" in .conf, "interface." in TOML
        self.interface_where: Where | None = None
        self.private_key: PrivateKey | None = None
        self.private_key_file: Path | None = None
        self.private_key_where: Where | None = None
        self.addresses: list[IPInterface] = []
        self.dns: list[IPAddress] = []
        self.dns_search: list[str] = []
        self.mtu: int | None = None
        self.mtu_where: Where | None = None
        self.listen_port: int | None = None
        self.peers: list[DraftPeer] = []
        self.ignored: list[str] = []
        # Added to the "private key missing" problem when the file hints at why (a hook).
        self.missing_key_hint = ""

    def add_dns(self, entry: IPAddress | str) -> None:
        if isinstance(entry, str):
            self.dns_search.append(entry)
        else:
            self.dns.append(entry)


# --- key files --------------------------------------------------------------------------------


def resolve_key_file(path: Path, base_dir: Path | None) -> Path:
    """A key file named relative to the profile is found next to the profile."""
    try:
        path = path.expanduser()
    except RuntimeError:  # ~user of no such user: reading it fails with a clear message
        pass
    if not path.is_absolute() and base_dir is not None:
        path = base_dir / path
    return path


def group_or_other_readable(st_mode: int) -> bool:
    return bool(st_mode & (stat.S_IRGRP | stat.S_IROTH))


def permission_warning(path: Path, what: str) -> str:
    # A fix to paste into a shell, whatever the name holds: quoted as shlex.quote quotes a
    # word that needs it (a quote in the name becomes '"'"'), but always, for a steady form.
    shell_word = "'" + str(path).replace("'", "'\"'\"'") + "'"
    return printable(f"{what} {path} is readable by group or others; fix: chmod 600 {shell_word}")


def read_key_file(
    path: Path,
    base_dir: Path | None,
    where: Where,
    problems: Problems,
    warnings: list[str],
) -> bytes | None:
    """The 32 key bytes in ``path`` (written as by ``wg genkey > FILE``), or None + a problem."""
    real = resolve_key_file(path, base_dir)
    try:
        with open(real, "rb") as f:
            mode = os.fstat(f.fileno()).st_mode
            data = f.read(4096)
    except OSError as exc:
        problems.add(where, f"cannot read key file {real}: {exc.strerror or exc}")
        return None
    if group_or_other_readable(mode):
        warnings.append(permission_warning(real, "key file"))
    try:
        return decode_key(data.decode("ascii").strip())
    except (UnicodeDecodeError, KeyFormatError) as exc:
        detail = exc if isinstance(exc, KeyFormatError) else "it is not ASCII text"
        problems.add(where, f"key file {real} does not hold a key: {detail}")
        return None


# --- the checks that need the whole profile ---------------------------------------------------


def finish(
    draft: Draft,
    problems: Problems,
    *,
    base_dir: Path | None,
    path: Path | None,
    fmt: str,
) -> tuple[Profile, list[str]]:
    """Read key files, check the profile as a whole, build it; raise with every problem.

    Returns the profile and the warnings (permissions) to show the user.
    """
    n = draft.names
    warnings: list[str] = []
    iface = draft.interface_where or Where(None, n["interface"])

    if draft.interface_where is None:
        problems.add(None, f"no {n['interface']} section")
    private_key = draft.private_key
    if draft.private_key_file is not None and private_key is None:
        where = draft.private_key_where or iface
        raw = read_key_file(draft.private_key_file, base_dir, where, problems, warnings)
        if raw is not None:
            private_key = PrivateKey(raw)
    elif draft.private_key_where is None and draft.interface_where is not None:
        problems.add(
            Where(iface.line, draft.prefix + n["private_key"]),
            f"missing: the interface needs a private key ({n['private_key']} "
            f"or {n['private_key_file']}){draft.missing_key_hint}",
        )
    address_key = draft.prefix + n["address"]
    # An address that was given but malformed is reported already: not "missing" as well.
    address_reported = any(w is not None and w.key == address_key for w, _ in problems.items)
    if draft.interface_where is not None and not draft.addresses and not address_reported:
        problems.add(
            Where(iface.line, address_key),
            "missing: the cage needs at least one tunnel address",
        )
    if draft.mtu is not None and draft.mtu < MTU_MIN_IPV6:
        if any(a.version == 6 for a in draft.addresses):
            problems.add(
                draft.mtu_where,
                f"{draft.mtu} is below {MTU_MIN_IPV6}, the least IPv6 needs "
                "(the profile has an IPv6 address)",
            )
    if not draft.peers:
        problems.add(None, f"no {n['peer']}: a profile needs at least one peer")

    first_seen: dict[PublicKey, DraftPeer] = {}
    peers: list[Peer] = []
    own_public = private_key.public_key() if private_key is not None else None
    for dp in draft.peers:
        if dp.public_key is None:
            if dp.public_key_where is None:  # absent, not merely malformed
                problems.add(
                    Where(dp.where.line, dp.prefix + n["public_key"]),
                    "missing: every peer needs a public key",
                )
        elif dp.public_key in first_seen:
            other = first_seen[dp.public_key]
            problems.add(
                dp.public_key_where,
                f"the same public key as the peer {_describe(other.where)}",
            )
        else:
            first_seen[dp.public_key] = dp
        if dp.public_key is not None and dp.public_key == own_public:
            # wg and wireguard-go silently ignore such a peer: the cage would never connect.
            problems.add(
                dp.public_key_where,
                "this is the interface's own public key (derived from its private key): "
                "put the server's public key here",
            )
        psk = dp.preshared_key
        if dp.preshared_key_file is not None and psk is None:
            where = dp.preshared_key_where or dp.where
            raw = read_key_file(dp.preshared_key_file, base_dir, where, problems, warnings)
            if raw is not None:
                psk = PresharedKey(raw)
        if dp.public_key is not None:
            peers.append(
                Peer(
                    public_key=dp.public_key,
                    preshared_key=psk,
                    preshared_key_file=dp.preshared_key_file,
                    endpoint=dp.endpoint,
                    allowed_ips=tuple(_dedupe(net for net, _ in dp.allowed_ips)),
                    persistent_keepalive=dp.persistent_keepalive,
                )
            )
    _check_overlaps(draft.peers, problems)

    problems.raise_if_any()
    assert private_key is not None
    interface = Interface(
        private_key=private_key,
        private_key_file=draft.private_key_file,
        addresses=tuple(_dedupe(draft.addresses)),
        dns=tuple(_dedupe(draft.dns)),
        dns_search=tuple(_dedupe(draft.dns_search)),
        mtu=draft.mtu,
        listen_port=draft.listen_port,
    )
    profile = Profile(
        interface=interface,
        peers=tuple(peers),
        path=path,
        format=fmt,
        ignored=tuple(_dedupe(draft.ignored)),
    )
    return profile, warnings


def _describe(where: Where) -> str:
    return f"on line {where.line}" if where.line is not None else where.key


def _dedupe(items):
    seen = set()
    out = []
    for item in items:
        if item not in seen:
            seen.add(item)
            out.append(item)
    return out


def _check_overlaps(peers: list[DraftPeer], problems: Problems) -> None:
    """AllowedIPs of different peers must not overlap: the cage could not tell where to send.

    wg would silently give the overlap to the peer listed last; a profile that relies on
    that is almost always a mistake (two peers with 0.0.0.0/0), so it is refused.
    """
    for i, later in enumerate(peers):
        for earlier in peers[:i]:
            for net, where in later.allowed_ips:
                for other, _ in earlier.allowed_ips:
                    if net.version == other.version and net.overlaps(other):  # type: ignore[arg-type]
                        problems.add(
                            where,
                            f"{net} overlaps {other} of the peer {_describe(earlier.where)}",
                        )

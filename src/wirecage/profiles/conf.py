"""The wg-quick ``.conf`` format, read and written the way wg(8) and wg-quick(8) do.

A file is split into lines at ``\\n`` (a trailing ``\\r`` is dropped, so CRLF files read the
same). On each line ``#`` starts a comment, and every ASCII whitespace character (space,
tab, ``\\v``, ``\\f``) is removed, as ``wg`` does: ``Allowed IPs = 10.0.0.0/8, fd00::/8`` reads
as ``AllowedIPs=10.0.0.0/8,fd00::/8``; other Unicode spaces (U+00A0) stay, as in ``wg``, and
make the line an error. A section header is alone on its line.
Section and key names match case-insensitively. Two exceptions follow wg-quick rather than wg:

- ``Address`` and ``DNS`` values are split at commas *and* whitespace (wg-quick word-splits
  them), and may repeat, like ``AllowedIPs``; the lists accumulate.
- The hooks (``PreUp``, ``PostUp``, ``PreDown``, ``PostDown``) keep their value verbatim,
  ``#`` included: they are shell commands. A cage runs no hooks, so they are reported as
  ignored, with ``Table``, ``SaveConfig`` and ``FwMark``, which only concern the host's
  routing and firewall.

wg-quick has no key for "the private key is in this file"; its manual suggests a hook that
sets it after the interface is up. We recognise exactly that form, ``PostUp = wg set %i
private-key FILE`` (and ``wg set %i peer KEY preshared-key FILE`` for a preshared key), as a
key file reference, and write key file references the same way. The result is a file that
``wg-quick up`` accepts and that gives the same tunnel. wg-quick replaces each ``%i`` in a
hook with the interface name, the file's name without ``.conf``; a profile is its own
interface, so ``%i`` in a key file path is the profile's name (``interface_name``).
"""

from __future__ import annotations

import re
from pathlib import Path

from wirecage.errors import ProfileError
from wirecage.profiles.model import Profile
from wirecage.profiles.validate import (
    ASCII_WHITESPACE,
    Draft,
    DraftPeer,
    FieldError,
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

INTERFACE_KEYS = {
    k.lower(): k
    for k in (
        "PrivateKey",
        "ListenPort",
        "FwMark",
        "Address",
        "DNS",
        "MTU",
        "Table",
        "SaveConfig",
        "PreUp",
        "PostUp",
        "PreDown",
        "PostDown",
    )
}
PEER_KEYS = {
    k.lower(): k
    for k in ("PublicKey", "PresharedKey", "Endpoint", "AllowedIPs", "PersistentKeepalive")
}
HOOKS = {"preup", "postup", "predown", "postdown"}
# Host routing and firewall settings: meaningless inside a cage, accepted and reported.
IGNORED = HOOKS | {"table", "saveconfig", "fwmark"}
# AmneziaWG's obfuscation parameters (1.0, 1.5 and 2.0): a different protocol on the wire.
AMNEZIA_KEYS = {
    "jc", "jmin", "jmax", "s1", "s2", "s3", "s4", "h1", "h2", "h3", "h4",
    "i1", "i2", "i3", "i4", "i5", "j1", "j2", "j3", "itime",
}  # fmt: skip
# Keys that may appear once per section; the others accumulate.
SINGLE = {"privatekey", "listenport", "mtu", "publickey", "presharedkey", "endpoint",
          "persistentkeepalive"}  # fmt: skip

# wg removes ASCII_WHITESPACE, and only that, inside a line: U+00A0 and the like stay, and
# make the line an error, as in wg. ("Private\u00a0Key" is not PrivateKey.)
_WHITESPACE = re.compile(f"[{re.escape(ASCII_WHITESPACE)}]+")
# wg-quick word-splits Address and DNS with bash's default IFS, after turning ',' into ' '.
_WORDS = re.compile("[, \t\n]+")
# What a .conf file never has and a TOML profile has: an array of tables ([[peer]]), or a
# lower-case key given a quoted string or an array (private_key = "…", address = [ …).
_TOML_LOOKS = re.compile(r"""^[ \t]*(?:\[\[|[a-z][a-z0-9_]*[ \t]*=[ \t]*["'\[])""", re.MULTILINE)
_SECTION_NAMES = {"[interface]": "[Interface]", "[peer]": "[Peer]"}

NAMES = {
    "interface": "[Interface]",
    "peer": "[Peer]",
    "private_key": "PrivateKey",
    "private_key_file": "PostUp = wg set %i private-key FILE",
    "public_key": "PublicKey",
    "address": "Address",
}


def read_conf(
    text: str,
    *,
    source: str,
    path: Path | None = None,
    base_dir: Path | None = None,
    name: str | None = None,
) -> tuple[Profile, list[str]]:
    """Parse and validate a ``.conf`` text; return the profile and permission warnings.

    ``source`` names the file in messages; relative key file paths are taken from
    ``base_dir``. ``name`` is the interface name that ``%i`` stands for in a key file
    hook; by default the file's name without ``.conf`` (see ``interface_name``). Raises
    ProfileError listing every problem.
    """
    if text.startswith("\ufeff"):
        text = text[1:]
    percent_i = interface_name(name, path, source)  # before the loop reuses "name"
    problems = Problems(source)
    draft = Draft(names=NAMES)
    section: str | None = None
    peer: DraftPeer | None = None
    seen: dict[str, int] = {}  # single-valued key -> line, per section
    key_file_hooks: list[tuple[Where, str, list[str]]] = []
    amnezia: list[Where] = []

    lines = [(n, raw.removesuffix("\r")) for n, raw in enumerate(text.split("\n"), start=1)]
    lines.reverse()  # popped from the end; a header's trailing text is pushed back
    while lines:
        lineno, raw = lines.pop()
        before_comment = raw.split("#", 1)[0]
        compact = _WHITESPACE.sub("", before_comment)
        if not compact:
            continue
        if compact.startswith("["):
            close = compact.find("]")
            if 0 < close < len(compact) - 1:
                # "[Interface] PrivateKey = …", two lines joined (pasted from a web page).
                # The rest may hold a key: described, never quoted, and read as its own line.
                header = compact[: close + 1]
                problems.add(
                    Where(lineno, _SECTION_NAMES.get(header.lower(), "")),
                    "a section header must be alone on its line: "
                    "put what follows the ']' on the next line (not shown here)",
                )
                lines.append((lineno, raw.split("]", 1)[1]))
                compact = header
            name = compact.lower()
            seen = {}
            if name == "[interface]":
                if draft.interface_where is not None:
                    problems.add(
                        Where(lineno, "[Interface]"),
                        f"a second [Interface] section (the first is on line "
                        f"{draft.interface_where.line})",
                    )
                draft.interface_where = Where(lineno, "[Interface]")
                section, peer = "interface", None
            elif name == "[peer]":
                peer = DraftPeer(where=Where(lineno, "[Peer]"))
                draft.peers.append(peer)
                section = "peer"
            else:
                problems.add(
                    Where(lineno, "" if looks_like_key(compact) else compact),
                    ("unknown section" if not looks_like_key(compact) else
                     "a section header that looks like a key (not shown)")
                    + " (a file has one [Interface] and any number of [Peer])",
                )  # fmt: skip
                section, peer = None, None
            continue
        if "=" not in compact:
            # Never quote the line: it may be a key pasted without its name.
            problems.add(Where(lineno, ""), "neither a [Section] header nor Key = Value")
            continue
        key_text, value = compact.split("=", 1)
        key = key_text.lower()
        if looks_like_key(key_text):
            # A key pasted without its name, or a name and key without '=' between them: the
            # '=' found is the key's padding. Never quote such a line.
            started = _key_without_equals(key, lineno, problems)
            # Given, if unreadable: not reported as missing too.
            if started == "PrivateKey":
                draft.private_key_where = Where(lineno, started)
            elif started == "PublicKey" and peer is not None:
                peer.public_key_where = Where(lineno, started)
            continue
        known = INTERFACE_KEYS if section == "interface" else PEER_KEYS
        name = INTERFACE_KEYS.get(key) or PEER_KEYS.get(key) or key_text
        where = Where(lineno, name)

        if key in AMNEZIA_KEYS:
            amnezia.append(Where(lineno, key_text))
            continue
        if section is None:
            if draft.interface_where is None and not draft.peers:
                problems.add(where, "outside any section (start with [Interface])")
            continue  # inside an unknown section: already reported
        if key not in known:
            other = PEER_KEYS if section == "interface" else INTERFACE_KEYS
            if key in other:
                home = "[Peer]" if section == "interface" else "[Interface]"
                problems.add(where, f"belongs in the {home} section")
            elif any(ch.isspace() for ch in key_text):
                problems.add(
                    where,
                    "unknown key: it holds a space that is not a plain ASCII space, which wg "
                    "does not remove (retype the name)" + _did_you_mean(key_text, known),
                )
            else:
                problems.add(where, "unknown key" + _did_you_mean(key_text, known))
            continue
        if key in SINGLE:
            if key in seen:
                problems.add(where, f"given twice (first on line {seen[key]})")
                continue
            seen[key] = lineno

        if key in HOOKS:
            # wg-quick keeps hook values verbatim: a '#' there is part of the command.
            hook = raw.split("=", 1)[1].strip(ASCII_WHITESPACE)
            words = _key_file_hook(hook) if key == "postup" else None
            if words is not None:
                key_file_hooks.append((where, hook, words))
            else:
                draft.ignored.append(name)
                if "private-key" in hook:
                    draft.missing_key_hint = (
                        "; a hook sets it, and a cage runs no hooks: write PrivateKey = … "
                        "or PostUp = wg set %i private-key /path/to/file"
                    )
        elif key in IGNORED:
            draft.ignored.append(name)
        elif key in ("address", "dns"):
            items = [v for v in _WORDS.split(before_comment.split("=", 1)[1]) if v]
            for item in items:
                if key == "address":
                    addr = problems.attempt(where, parse_address, item)
                    if addr is not None:
                        draft.addresses.append(addr)
                else:
                    entry = problems.attempt(where, parse_dns_entry, item)
                    if entry is not None:
                        draft.add_dns(entry)
        elif key == "privatekey":
            draft.private_key = problems.attempt(where, parse_private_key, value)
            draft.private_key_where = where
        elif key == "listenport":
            draft.listen_port = problems.attempt(where, parse_listen_port, value)
        elif key == "mtu":
            draft.mtu = problems.attempt(where, parse_mtu, value)
            draft.mtu_where = where
        else:
            assert peer is not None
            _peer_value(peer, key, value, where, problems)

    if amnezia:
        # One problem for the lot: the file is for another protocol, not nine typos.
        problems.add(
            amnezia[0],
            "AmneziaWG obfuscation is not supported ("
            + ", ".join(w.key for w in amnezia)
            + "): wirecage speaks plain WireGuard; ask the provider for a standard "
            "WireGuard configuration",
        )
    if problems and _format_was_guessed(path, source) and looks_like_toml(text):
        # A file without .conf or .toml whose TOML does not parse is taken for a .conf file
        # (the format is guessed by trying TOML); its true mistake is the TOML one.
        _raise_toml_error(text, source)
    _attach_key_files(draft, key_file_hooks, problems, percent_i)
    profile, warnings = finish(draft, problems, base_dir=base_dir, path=path, fmt="conf")
    return profile, warnings


def looks_like_toml(text: str) -> bool:
    """Whether ``text`` has a line no ``.conf`` file has and a TOML profile has.

    For telling a broken TOML profile from a ``.conf`` file when the file's name does not
    say which it is: ``[[peer]]``, or ``private_key = "…"`` (a lower-case key given a
    quoted string or an array; .conf keys are written in CamelCase, values unquoted).
    """
    return _TOML_LOOKS.search(text) is not None


def _format_was_guessed(path: Path | None, source: str) -> bool:
    """Whether the name of the file read says nothing of its format (or there is none)."""
    file = path.name if path is not None else source
    return not file.endswith(".conf")


def _raise_toml_error(text: str, source: str) -> None:
    """Raise the TOML reader's error for ``text``, if it is not valid TOML."""
    import tomllib  # only for a file that failed as .conf: `up` reads .conf without it

    try:
        tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        from wirecage.profiles.tomlfmt import read_toml

        read_toml(text, source=source)  # raises: "not valid TOML" with the line


def _key_without_equals(key: str, lineno: int, problems: Problems) -> str | None:
    """Report a line that holds a key but no '='; return the key name it starts with."""
    names = [k for k in (*INTERFACE_KEYS, *PEER_KEYS) if key.startswith(k)]
    if not names:
        problems.add(
            Where(lineno, ""),
            "a line that looks like a key without its name (not shown): write Name = key",
        )
        return None
    longest = max(names, key=len)
    name = INTERFACE_KEYS.get(longest) or PEER_KEYS[longest]
    problems.add(
        Where(lineno, name),
        f"no '=' between the name and the value (not shown): write {name} = value",
    )
    return name


def _peer_value(peer: DraftPeer, key: str, value: str, where: Where, problems: Problems) -> None:
    if key == "publickey":
        peer.public_key = problems.attempt(where, parse_public_key, value)
        peer.public_key_where = where
    elif key == "presharedkey":
        peer.preshared_key = problems.attempt(where, parse_preshared_key, value)
        peer.preshared_key_where = where
    elif key == "endpoint":
        peer.endpoint = problems.attempt(where, parse_endpoint, value)
    elif key == "allowedips":
        for item in value.split(","):
            if not item:
                continue
            net = problems.attempt(where, parse_network, item)
            if net is not None:
                peer.allowed_ips.append((net, where))
    elif key == "persistentkeepalive":
        try:
            peer.persistent_keepalive = parse_keepalive(value)
        except FieldError as exc:
            problems.add(where, f"{exc} (or off)")


def _key_file_hook(hook: str) -> list[str] | None:
    """The words of ``wg set %i private-key F`` / ``wg set %i peer K preshared-key F``."""
    import shlex  # here, not at the top: most files have no hooks (startup cost)

    try:
        words = shlex.split(_without_shell_comment(hook))
    except ValueError:
        return None
    if words[:3] != ["wg", "set", "%i"]:
        return None
    rest = words[3:]
    if len(rest) == 2 and rest[0] == "private-key":
        path = rest[1]
    elif len(rest) == 4 and rest[0] == "peer" and rest[2] == "preshared-key":
        path = rest[3]
    else:
        return None
    # Process substitution, variables and the like are the shell's business, not a path.
    if not path or path[0] in "<$|" or "$(" in path:
        return None
    return rest


def _without_shell_comment(hook: str) -> str:
    """``hook`` up to the comment bash would see: an unquoted '#' that starts a word.

    wg-quick runs hooks with bash's ``eval``; shlex's own comment option would also cut
    ``key#1`` at the '#', which bash keeps.
    """
    quote = ""
    escaped = False
    word_start = True
    for index, ch in enumerate(hook):
        if escaped:
            escaped, word_start = False, False
        elif ch == "\\" and quote != "'":
            escaped = True
        elif quote:
            if ch == quote:
                quote = ""
        elif ch in "'\"":
            quote, word_start = ch, False
        elif ch in " \t":
            word_start = True
        elif ch == "#" and word_start:
            return hook[:index]
        else:
            word_start = False
    return hook


def interface_name(name: str | None, path: Path | None, source: str) -> str | None:
    """What ``%i`` stands for in a hook: the interface name wg-quick would give the tunnel.

    wg-quick names the interface after its file (``/etc/wireguard/wg0.conf`` is ``wg0``) and
    replaces every ``%i`` in a hook with that name. A profile is its own interface, so ``%i``
    is the profile's name: ``name`` when the caller knows it, else the file's name without
    ``.conf`` (the same thing for a stored profile, and for ``wg-quick up FILE``). None when
    neither gives a usable name (standard input, a profile built in memory).
    """
    if name is None:
        file = path.name if path is not None else Path(source).name
        name = file.removesuffix(".conf")
    # wg-quick's own rule for a name (and ours for a profile, which allows 64 characters).
    if not re.fullmatch(r"[A-Za-z0-9_=+.-]{1,64}", name):
        return None
    return name


def _hook_file(
    hook: str, words: list[str], name: str | None, where: Where, problems: Problems
) -> str | None:
    """The key file a hook names once ``%i`` is the interface name, as wg-quick has it.

    wg-quick replaces every ``%i`` in the hook's text, then bash reads the words: so the
    replacement is made in the text, before splitting (``%''i`` stays a literal ``%i``).
    """
    command = _without_shell_comment(hook)
    if command.count("%i") == 1:  # only the one of "wg set %i"
        return words[-1]
    if name is None:
        problems.add(
            where,
            "the key file path holds %i, the interface name, which is not known here "
            "(the profile has no file name): write the path in full",
        )
        return None
    import shlex

    return shlex.split(command.replace("%i", name))[-1]


def _attach_key_files(
    draft: Draft, hooks: list[tuple[Where, str, list[str]]], problems: Problems, name: str | None
) -> None:
    for where, hook, words in hooks:
        file = _hook_file(hook, words, name, where, problems)
        if file is None:
            if words[0] == "private-key":
                draft.private_key_where = where  # given, if unusable: not "missing" too
            continue
        if words[0] == "private-key":
            if draft.private_key_where is not None:
                problems.add(where, "sets the private key, but PrivateKey is given too")
            elif draft.private_key_file is not None:
                problems.add(where, "sets the private key a second time")
            else:
                draft.private_key_file = Path(file)
                draft.private_key_where = where
            continue
        key_text = words[1]
        try:
            public_key = parse_public_key(key_text)
        except FieldError as exc:
            problems.add(where, f"the peer's key: {exc}")
            continue
        matches = [p for p in draft.peers if p.public_key == public_key]
        if not matches:
            problems.add(where, "sets a preshared key for a peer that is not in this file")
        elif matches[0].preshared_key_where is not None:
            problems.add(where, "sets a preshared key for a peer that already has one")
        else:
            matches[0].preshared_key_file = Path(file)
            matches[0].preshared_key_where = where


def _did_you_mean(key: str, known: dict[str, str]) -> str:
    import difflib  # only for a mistake: not worth its import at every start

    close = difflib.get_close_matches(key.lower(), list(known), n=1, cutoff=0.75)
    return f" (did you mean {known[close[0]]}?)" if close else ""


# --- writing ----------------------------------------------------------------------------------


def _file_word(path: Path, source: str) -> str:
    # wirecage expands a leading ~ when it reads a key file path, and bash would not inside
    # the quotes below: the hook gets the expanded path, so wg-quick reads the same file.
    if str(path).startswith("~"):
        try:
            path = path.expanduser()
        except RuntimeError:  # ~user of no such user: then the reader could not find it either
            pass
    text = str(path)
    # An older wg-quick cuts hook values at '#'; a newline would end the line.
    if "#" in text or "\n" in text or "\r" in text:
        raise ProfileError(
            printable(f"{source}: key file path {text!r} cannot be written to a .conf file"),
            hint="rename the key file, or store the profile as TOML",
        )
    import shlex

    # wg-quick replaces %i in a hook's text with the interface name before bash reads it:
    # %''i is what bash reads as a literal %i (inside quotes or out), and no %i for wg-quick.
    return shlex.quote(text).replace("%i", "%''i")


def write_conf(profile: Profile, *, source: str = "profile") -> str:
    """The profile as a ``.conf`` file that wg-quick accepts, keys included.

    Key files stay references (``PostUp = wg set %i private-key FILE``); ignored keys
    (hooks, Table, ...) are not in the model and are not written.
    """
    iface = profile.interface
    lines = ["[Interface]"]
    if iface.private_key_file is not None:
        lines.append(f"PostUp = wg set %i private-key {_file_word(iface.private_key_file, source)}")
    else:
        lines.append(f"PrivateKey = {iface.private_key.to_base64()}")
    if iface.addresses:
        lines.append("Address = " + ", ".join(str(a) for a in iface.addresses))
    if iface.dns or iface.dns_search:
        lines.append("DNS = " + ", ".join([*map(str, iface.dns), *iface.dns_search]))
    if iface.mtu is not None:
        lines.append(f"MTU = {iface.mtu}")
    if iface.listen_port is not None:
        lines.append(f"ListenPort = {iface.listen_port}")
    for peer in profile.peers:
        if peer.preshared_key_file is not None:
            lines.append(
                f"PostUp = wg set %i peer {peer.public_key.to_base64()} preshared-key "
                f"{_file_word(peer.preshared_key_file, source)}"
            )
    for peer in profile.peers:
        lines += ["", "[Peer]", f"PublicKey = {peer.public_key.to_base64()}"]
        if peer.preshared_key is not None and peer.preshared_key_file is None:
            lines.append(f"PresharedKey = {peer.preshared_key.to_base64()}")
        if peer.endpoint is not None:
            lines.append(f"Endpoint = {peer.endpoint}")
        if peer.allowed_ips:
            lines.append("AllowedIPs = " + ", ".join(str(n) for n in peer.allowed_ips))
        if peer.persistent_keepalive:
            lines.append(f"PersistentKeepalive = {peer.persistent_keepalive}")
    return "\n".join(lines) + "\n"

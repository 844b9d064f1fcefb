"""``wirecage profile …``: list, show, import, new, edit, remove, rename, export, check.

Thin handlers: the work is in ``wirecage.profiles``. Real output goes to standard output;
questions, confirmations and notes go to standard error, so that ``$(wirecage profile new …)``
captures just the public key. ``list --names`` runs on every TAB of shell completion and
imports nothing but the store (no ``cryptography``).
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from wirecage.errors import EXIT_FAILURE, EXIT_USAGE, ProfileError, UsageError, WirecageError
from wirecage.profiles import store


def _note(message: str) -> None:
    print(message, file=sys.stderr)


def _ask(question: str) -> str | None:
    """One answer from standard input, lowercased; None at end of input (or no input)."""
    print(question, end="", file=sys.stderr, flush=True)
    line = sys.stdin.readline() if sys.stdin is not None else ""
    if not line:
        print(file=sys.stderr)  # end the prompt's line
        return None
    return line.strip().lower()


# --- list -------------------------------------------------------------------------------------


def cmd_list(args: argparse.Namespace) -> int:
    if args.names:
        for name in store.list_names():
            print(name)
        return 0

    rows = []
    for entry in store.list_profiles():
        row: dict = {
            "name": entry.name,
            "format": entry.format,
            "path": str(entry.path),
            "shadowed": entry.shadowed,
            "endpoints": [],
            "addresses": [],
            "error": None,
            "problems": [],
        }
        try:
            problem = store.name_problem(entry.name)
            if problem is not None:
                raise ProfileError(
                    f"'{entry.name}' cannot be used as a profile name ({problem}); rename the file"
                )
            profile, _ = store.read_profile_file(entry.path, entry.name)
        except WirecageError as exc:
            # One broken profile must not hide the others.
            row["error"] = exc.message
            row["problems"] = list(getattr(exc, "problems", []))
        else:
            row["endpoints"] = [str(p.endpoint) for p in profile.peers if p.endpoint]
            row["addresses"] = [str(a) for a in profile.interface.addresses]
        rows.append(row)

    if args.json:
        json.dump(rows, sys.stdout, indent=2)
        print()
        return 0
    if not rows:
        dirs = ", ".join(str(d) for d in store.profile_dirs())
        _note(f"no profiles (searched {dirs}); 'wirecage profile import FILE' adds one")
        return 0
    table = [("NAME", "FORMAT", "ENDPOINT", "ADDRESS", "PATH")]
    for row in rows:
        if row["error"]:
            detail = row["problems"][0] if row["problems"] else row["error"]
            more = len(row["problems"]) - 1
            what = f"invalid: {detail}" + (f" (+{more} more)" if more > 0 else "")
            table.append((row["name"], row["format"], what, "", row["path"]))
            continue
        path = row["path"] + (" (shadowed)" if row["shadowed"] else "")
        table.append(
            (
                row["name"],
                row["format"],
                ", ".join(row["endpoints"]) or "-",
                ", ".join(row["addresses"]),
                path,
            )
        )
    _print_table(table)
    return 0


def _print_table(rows: Sequence[tuple[str, ...]]) -> None:
    widths = [max(len(r[i]) for r in rows if not r[i].startswith("invalid:")) for i in range(4)]
    for row in rows:
        if row[2].startswith("invalid:"):
            # An error message spans the endpoint and address columns.
            cells = [row[0].ljust(widths[0]), row[1].ljust(widths[1]), row[2], row[4]]
        else:
            cells = [cell.ljust(widths[i]) for i, cell in enumerate(row[:4])] + [row[4]]
        print("  ".join(cells).rstrip())


# --- show, check, export ----------------------------------------------------------------------


def _load(arg: str, *, notice_ignored: bool = False):
    path, name = store.resolve(arg)
    profile, warnings = store.read_profile_file(path, name)
    store.report(profile, warnings, notice_ignored=notice_ignored)
    return profile


def cmd_show(args: argparse.Namespace) -> int:
    from wirecage.profiles.jsonview import profile_to_json

    profile = _load(args.name)
    view = profile_to_json(profile, show_keys=args.show_keys)
    if args.json:
        json.dump(view, sys.stdout, indent=2)
        print()
        return 0
    iface = view["interface"]
    lines = [
        f"profile {view['name'] or '-'}: {view['path']} ({view['format']})",
        "interface",
        f"  public key:    {iface['public_key']}",
        f"  private key:   {iface['private_key']}"
        + (f" (from {iface['private_key_file']})" if iface["private_key_file"] else ""),
        f"  addresses:     {', '.join(iface['addresses'])}",
        f"  dns:           {', '.join(iface['dns']) or '-'}",
        f"  dns search:    {', '.join(iface['dns_search']) or '-'}",
        f"  mtu:           {iface['mtu'] or 'automatic'}",
        f"  listen port:   {iface['listen_port'] if iface['listen_port'] else 'random'}",
    ]
    for peer in view["peers"]:
        psk = peer["preshared_key"] or "-"
        if peer["preshared_key_file"]:
            psk += f" (from {peer['preshared_key_file']})"
        keepalive = peer["persistent_keepalive"]
        lines += [
            "peer",
            f"  public key:    {peer['public_key']}",
            f"  preshared key: {psk}",
            f"  endpoint:      {peer['endpoint'] or '-'}",
            f"  allowed ips:   {', '.join(peer['allowed_ips']) or '-'}",
            f"  keepalive:     {f'every {keepalive} s' if keepalive else 'off'}",
        ]
    if view["ignored"]:
        lines.append(f"ignored: {', '.join(view['ignored'])}")
    print("\n".join(lines))
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    # Every problem raises, listed, with exit status 1; what a cage ignores is worth a note.
    profile = _load(args.name, notice_ignored=True)
    count = len(profile.peers)
    print(f"{profile.path}: ok ({count} peer{'s' if count != 1 else ''})")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    profile = _load(args.name)
    fmt = args.format or profile.format
    if fmt == profile.format and profile.path is not None:
        # The user's own file, as they wrote it: comments and hooks included.
        from wirecage.profiles.validate import decode_text

        data, _ = store.read_profile_bytes(profile.path)
        sys.stdout.write(decode_text(data, str(profile.path)))
    else:
        sys.stdout.write(store.render(profile, fmt))
    return 0


# --- import, new ------------------------------------------------------------------------------


def _key_file_path_names_the_interface(text: str) -> bool:
    """Whether a key file hook (``PostUp = wg set %i … private-key FILE``) has a %i besides
    the one of ``wg set %i``, in the file's path."""
    return any(
        line.split("=", 1)[0].strip().lower() == "postup"
        and ("private-key" in line or "preshared-key" in line)
        and line.count("%i") > 1
        for line in text.splitlines()
    )


def cmd_import(args: argparse.Namespace) -> int:
    from wirecage.profiles.validate import decode_text

    if args.file == "-":
        if not args.name:
            raise UsageError("importing standard input needs --name NAME")
        try:
            # Relative key file paths in piped text are taken from here.
            base_dir: Path | None = Path.cwd()
        except FileNotFoundError:  # the working directory was removed: no relative paths
            base_dir = None
        source, in_fmt = "<stdin>", None
        # <&-: empty
        data = store.read_limited(sys.stdin.buffer, source) if sys.stdin is not None else b""
    else:
        path = Path(args.file)
        source, base_dir, in_fmt = str(path), path.parent, store.format_of(path)
        data, _ = store.read_profile_bytes(path)
    name = store.check_name(args.name or Path(args.file).stem)
    text = decode_text(data, source)
    in_fmt = in_fmt or store.sniff_format(text)
    out_fmt = args.format or in_fmt
    # %i in a key file path is the interface name: for a file, its own name, as wg-quick
    # has it; for standard input, the name it is stored under.
    profile, warnings = store.parse_profile(
        text, in_fmt, source=source, base_dir=base_dir, name=name if args.file == "-" else None
    )
    if (
        out_fmt != in_fmt
        or store.has_relative_key_files(profile)
        or _key_file_path_names_the_interface(text)
    ):
        # Stored as written, a relative path would be taken from the profile directory and
        # a %i would name the stored profile: write the files' absolute paths instead.
        text = store.render(store.absolute_key_files(profile, base_dir), out_fmt)
    # else: the file exactly as its author wrote it (comments, hooks), now validated.
    target = store.write_profile(name, text, out_fmt, overwrite=args.force)
    store.report(profile, warnings)
    print(f"imported profile '{name}' as {target}")
    return 0


def cmd_new(args: argparse.Namespace) -> int:
    from wirecage.profiles.model import Interface, Peer, Profile
    from wirecage.profiles.validate import (
        Problems,
        Where,
        parse_address,
        parse_dns_entry,
        parse_endpoint,
        parse_network,
        parse_public_key,
        read_key_file,
    )
    from wirecage.wg.keys import PrivateKey

    name = store.check_name(args.name)
    problems = Problems("command line")
    endpoint = problems.attempt(Where(None, "--endpoint"), parse_endpoint, args.endpoint)
    peer_key = problems.attempt(
        Where(None, "--peer-public-key"), parse_public_key, args.peer_public_key
    )
    addresses = [problems.attempt(Where(None, "--address"), parse_address, a) for a in args.address]
    dns = [problems.attempt(Where(None, "--dns"), parse_dns_entry, d) for d in args.dns or ()]
    allowed = [
        problems.attempt(Where(None, "--allowed-ips"), parse_network, n)
        for n in args.allowed_ips or ("0.0.0.0/0", "::/0")
    ]
    try:
        problems.raise_if_any()
    except ProfileError as exc:
        exc.exit_code = EXIT_USAGE
        exc.message = "invalid arguments"
        exc.hint = "see 'wirecage profile new --help'"
        raise
    if store.stored_path(name) is not None:
        raise ProfileError(
            f"profile '{name}' already exists ({store.stored_path(name)})",
            hint="choose another name, or remove it first",
        )
    psk_file = (
        Path(args.preshared_key_file).expanduser().absolute() if args.preshared_key_file else None
    )
    if psk_file is not None:
        # Checked here, against the option: the generated text would blame a line of its own.
        # (Its warnings come again when that text is read below.)
        psk_problems = Problems("command line")
        read_key_file(psk_file, None, Where(None, "--preshared-key-file"), psk_problems, [])
        for _, message in psk_problems.items:
            raise ProfileError(f"--preshared-key-file: {message}")
    profile = Profile(
        interface=Interface(
            private_key=PrivateKey.generate(os.urandom),
            addresses=tuple(a for a in addresses if a is not None),
            dns=tuple(d for d in dns if d is not None and not isinstance(d, str)),
            dns_search=tuple(d for d in dns if isinstance(d, str)),
        ),
        peers=(
            Peer(
                public_key=peer_key,  # type: ignore[arg-type]  # checked above
                preshared_key_file=psk_file,
                endpoint=endpoint,
                allowed_ips=tuple(n for n in allowed if n is not None),
            ),
        ),
    )
    text = store.render(profile, args.format)
    # Through the reader, like any file: the same checks (key file readable, MTU, ...).
    checked, warnings = store.parse_profile(text, args.format, source="command line")
    target = store.write_profile(name, text, args.format)
    store.report(checked, warnings)
    _note(f"created profile '{name}' as {target}")
    _note("give this public key to the server's administrator:")
    print(checked.interface.public_key)
    return 0


# --- edit -------------------------------------------------------------------------------------


def _editor() -> list[str]:
    variable = next((v for v in ("VISUAL", "EDITOR") if os.environ.get(v)), None)
    command = os.environ[variable] if variable else "vi"
    try:
        words = shlex.split(command)
    except ValueError as exc:  # an unclosed quote or a lone backslash
        raise UsageError(
            f"${variable} is not a command line: {exc}",
            hint=f"fix the quoting in ${variable}, for example: export {variable}=nano",
        ) from None
    if not words:
        raise UsageError("$VISUAL/$EDITOR is empty", hint="export EDITOR=nano (or your editor)")
    return words


def cmd_edit(args: argparse.Namespace) -> int:
    path = store.managed_path(args.name)
    fmt = store.format_of(path)
    assert fmt is not None
    original, _ = store.read_profile_bytes(path)
    # A private directory: the copy holds the private key.
    try:
        workdir = Path(tempfile.mkdtemp(prefix="wirecage-edit-"))
    except OSError as exc:
        raise WirecageError(
            f"cannot make a directory for the copy to edit: {exc.strerror or exc}",
            hint=f"check $TMPDIR (now {tempfile.gettempdir()})",
        ) from None
    try:
        copy = workdir / path.name
        try:
            copy.write_bytes(original)
            copy.chmod(0o600)
        except OSError as exc:
            raise WirecageError(f"cannot write the copy {copy}: {exc.strerror or exc}") from None
        while True:
            command = [*_editor(), str(copy)]
            try:
                status = subprocess.call(command)
            except OSError as exc:
                raise WirecageError(
                    f"cannot run the editor {command[0]}: {exc.strerror or exc}",
                    hint="set $VISUAL or $EDITOR to an editor that is installed",
                ) from None
            if status != 0:
                raise WirecageError(
                    f"the editor exited with status {status}; profile '{args.name}' unchanged"
                )
            try:
                edited = copy.read_bytes()
            except OSError as exc:  # the editor removed or replaced it
                raise WirecageError(
                    f"cannot read the edited copy {copy}: {exc.strerror or exc}; "
                    f"profile '{args.name}' unchanged"
                ) from None
            if edited == original:
                _note(f"no changes to profile '{args.name}'")
                return 0
            try:
                from wirecage.profiles.validate import decode_text

                text = decode_text(edited, path.name)
                profile, warnings = store.parse_profile(
                    text, fmt, source=path.name, path=path, base_dir=path.parent
                )
            except ProfileError as exc:
                _note(f"wirecage: error: {exc.message}")
                for problem in exc.problems:
                    _note(f"  {problem}")
                answer = _ask("What now? (e)dit again, (a)bort [e]: ")
                # Anything else asks again, like visudo; end of input aborts (re-editing
                # forever with no one to answer would never end).
                while answer not in (None, "", "e", "edit", "a", "abort"):
                    answer = _ask("Please answer e (edit again) or a (abort): ")
                if answer in ("", "e", "edit"):
                    continue
                raise WirecageError(
                    f"edit aborted; profile '{args.name}' unchanged", exit_code=EXIT_FAILURE
                ) from None
            break
        if store.read_profile_bytes(path)[0] != original:
            raise WirecageError(
                f"{path} changed while you were editing it; your version was not saved",
                hint="run 'wirecage profile edit' again",
            )
        store.replace_profile_file(path, text)
        store.report(profile, warnings)
        _note(f"saved profile '{args.name}'")
        return 0
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


# --- remove, rename ---------------------------------------------------------------------------


def cmd_remove(args: argparse.Namespace) -> int:
    path = store.managed_path(args.name)
    if not args.yes:
        answer = _ask(f"remove profile '{args.name}' ({path})? [y/N] ")
        if answer not in ("y", "yes"):
            raise WirecageError(
                f"profile '{args.name}' not removed", hint="--yes removes without asking"
            )
    store.remove_profile(args.name)
    print(f"removed profile '{args.name}' ({path})")
    return 0


def cmd_rename(args: argparse.Namespace) -> int:
    target = store.rename_profile(args.old, args.new)
    print(f"renamed profile '{args.old}' to '{args.new}' ({target})")
    return 0

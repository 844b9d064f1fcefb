"""Where profiles live, how a name finds its file, and how files are written safely.

A name is looked up, in order, in ``$XDG_CONFIG_HOME/wirecage/profiles`` (by default
``~/.config/wirecage/profiles``), ``/etc/wirecage/profiles`` and ``/etc/wireguard`` (so that
wg-quick's own files work as they are), as ``NAME.conf`` then ``NAME.toml``. An argument
that contains ``/`` or ends in ``.conf`` or ``.toml`` is a path instead.

wirecage writes only into the first directory, the user's own. Every write goes through a
temporary file in the same directory, created 0600, flushed to disk, then put in place with
one atomic step: ``link`` when the name must not exist yet (it fails instead of overwriting,
even against a concurrent writer), ``rename`` when replacing is intended. A reader therefore
sees the old file or the new one, never a half-written one, and nothing is overwritten
unless asked.

Shell completion runs ``wirecage profile list --names`` on every TAB, so this module imports
only the standard library at the top; the readers (and with them ``cryptography``) are
imported when a profile is actually parsed.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import stat
from pathlib import Path
from typing import TYPE_CHECKING

from wirecage.errors import EXIT_USAGE, ProfileError
from wirecage.logs import get_logger

if TYPE_CHECKING:
    from wirecage.profiles.model import Profile

log = get_logger("wirecage")

FORMATS = ("conf", "toml")
SYSTEM_PROFILE_DIRS = (Path("/etc/wirecage/profiles"), Path("/etc/wireguard"))
NAME_RE = re.compile(r"[A-Za-z0-9_.+=-]{1,64}")
NAME_RULE = "1-64 letters, digits and _ . - + ="
# A profile file is read whole; none is anywhere near this (a /dev/zero must not eat memory).
MAX_PROFILE_BYTES = 1 << 20


def user_profile_dir() -> Path:
    """``$XDG_CONFIG_HOME/wirecage/profiles``; per the XDG spec a relative value is ignored."""
    config = os.environ.get("XDG_CONFIG_HOME", "")
    base = Path(config) if config and os.path.isabs(config) else Path.home() / ".config"
    return base / "wirecage" / "profiles"


def profile_dirs() -> list[Path]:
    """The directories searched for a profile name, first match wins."""
    return [user_profile_dir(), *SYSTEM_PROFILE_DIRS]


def is_path_argument(arg: str) -> bool:
    return "/" in arg or arg.endswith((".conf", ".toml"))


def is_valid_name(name: str) -> bool:
    return NAME_RE.fullmatch(name) is not None


def name_problem(name: str) -> str | None:
    """Why ``name`` cannot name a profile, or None when it can."""
    if not is_valid_name(name):
        return f"a name is {NAME_RULE}"
    if is_path_argument(name):
        # `wirecage up corp.conf` would read ./corp.conf, never the stored profile.
        return "a name must not end in .conf or .toml: such an argument is read as a path"
    return None


def check_name(name: str) -> str:
    problem = name_problem(name)
    if problem is not None:
        raise ProfileError(
            f"'{name}' is not a valid profile name",
            hint=problem,
            exit_code=EXIT_USAGE,
        )
    return name


def format_of(path: Path) -> str | None:
    suffix = path.suffix.lstrip(".")
    return suffix if suffix in FORMATS else None


def sniff_format(text: str) -> str:
    """``toml`` if the text is TOML with our tables, else ``conf`` (which is not TOML)."""
    import tomllib

    try:
        doc = tomllib.loads(text.removeprefix("\ufeff"))
    except tomllib.TOMLDecodeError:
        return "conf"
    return "toml" if "interface" in doc or "peer" in doc else "conf"


# --- listing ----------------------------------------------------------------------------------


class StoredProfile:
    """A profile file found in the search path (not parsed)."""

    __slots__ = ("name", "path", "format", "shadowed")

    def __init__(self, name: str, path: Path, format: str, shadowed: bool = False):
        self.name = name
        self.path = path
        self.format = format
        # An earlier file of the same name hides this one.
        self.shadowed = shadowed

    def __repr__(self) -> str:
        return f"StoredProfile({self.name!r}, {str(self.path)!r}, shadowed={self.shadowed})"


def _is_profile_file(path: Path) -> bool:
    """A regular file, or a dangling symlink: reading it then fails with a clear error,
    where skipping it would make the name mean another profile or none. Not one that
    cannot be looked at (a directory without search permission): as in a listing, skipped."""
    try:
        st = os.lstat(path)
        if stat.S_ISLNK(st.st_mode):
            try:
                st = os.stat(path)
            except FileNotFoundError:
                return True  # dangling
    except OSError:
        return False
    return stat.S_ISREG(st.st_mode)


def _files_in(directory: Path) -> list[Path]:
    try:
        entries = sorted(directory.iterdir())
    except FileNotFoundError:
        return []
    except OSError as exc:  # /etc/wireguard is 0700 root: not an error for a user
        log.debug("cannot list %s: %s", directory, exc.strerror)
        return []
    return [
        p
        for p in entries
        if format_of(p) is not None and is_valid_name(p.stem) and _is_profile_file(p)
    ]


def list_profiles() -> list[StoredProfile]:
    """Every profile file in the search path, in search order; later same-name ones shadowed."""
    seen: set[str] = set()
    found = []
    for directory in profile_dirs():
        # NAME.conf before NAME.toml, as in the lookup.
        files = sorted(_files_in(directory), key=lambda p: (p.stem, FORMATS.index(p.suffix[1:])))
        for path in files:
            fmt = format_of(path)
            assert fmt is not None
            found.append(StoredProfile(path.stem, path, fmt, shadowed=path.stem in seen))
            seen.add(path.stem)
    return found


def list_names() -> list[str]:
    """The names ``wirecage up NAME`` accepts, sorted, each once (for completion)."""
    # Not a name ending in .conf (a file corp.conf.conf): `up corp.conf` reads a path.
    return sorted({p.name for p in list_profiles() if name_problem(p.name) is None})


def find_profile(name: str) -> Path:
    check_name(name)
    for directory in profile_dirs():
        for fmt in FORMATS:
            path = directory / f"{name}.{fmt}"
            if _is_profile_file(path):
                return path
    searched = ", ".join(str(d) for d in profile_dirs())
    raise ProfileError(
        f"no profile named '{name}' (searched {searched})",
        hint="'wirecage profile list' shows the profiles; 'wirecage profile import FILE' adds one",
    )


def resolve(name_or_path: str) -> tuple[Path, str | None]:
    """The file an argument means, and the profile name when it was a name."""
    if is_path_argument(name_or_path):
        return Path(name_or_path), None
    return find_profile(name_or_path), name_or_path


# --- reading ----------------------------------------------------------------------------------


def parse_profile(
    text: str,
    fmt: str,
    *,
    source: str,
    path: Path | None = None,
    base_dir: Path | None = None,
    name: str | None = None,
) -> tuple[Profile, list[str]]:
    """Parse and validate ``text`` in format ``fmt``; return the profile and warnings.

    ``name`` is what ``%i`` stands for in a .conf key file hook (by default the file's
    name without ``.conf``, as for wg-quick)."""
    if fmt == "conf":
        from wirecage.profiles.conf import read_conf as reader
    else:
        from wirecage.profiles.tomlfmt import read_toml as reader
    return reader(text, source=source, path=path, base_dir=base_dir, name=name)


def _has_inline_secret(profile: Profile) -> bool:
    if profile.interface.private_key_file is None:
        return True
    return any(p.preshared_key is not None and p.preshared_key_file is None for p in profile.peers)


def too_large_error(source: str) -> ProfileError:
    return ProfileError(
        f"{source}: too large for a profile (more than {MAX_PROFILE_BYTES // 1024} KiB)",
        hint="give the profile file itself",
    )


def read_limited(f, source: str) -> bytes:
    """All of binary stream ``f``, refused beyond MAX_PROFILE_BYTES."""
    data = f.read(MAX_PROFILE_BYTES + 1)
    if len(data) > MAX_PROFILE_BYTES:
        raise too_large_error(source)
    return data


def read_profile_bytes(path: Path) -> tuple[bytes, int]:
    """The bytes of the profile file ``path`` and its mode.

    Only a regular file: a FIFO would block until someone writes to it (so it is opened
    without waiting, then refused), a directory or a device is no profile.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        raise ProfileError(
            f"cannot read {path}: {exc.strerror or exc}",
            hint="as root, wg-quick's files in /etc/wireguard are readable"
            if exc.errno == errno.EACCES
            else None,
        ) from None
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        what = "it is a directory" if stat.S_ISDIR(mode) else "not a regular file"
        raise ProfileError(
            f"cannot read {path}: {what}",
            hint="a profile is a regular file; "
            "'wirecage profile import - --name NAME' reads standard input",
        )
    with open(fd, "rb") as f:
        try:
            return read_limited(f, str(path)), mode
        except OSError as exc:
            raise ProfileError(f"cannot read {path}: {exc.strerror or exc}") from None


def read_profile_file(path: Path, name: str | None = None) -> tuple[Profile, list[str]]:
    """Read, parse and validate the profile in ``path``; return it and its warnings."""
    from wirecage.profiles.validate import (
        decode_text,
        group_or_other_readable,
        permission_warning,
    )

    data, mode = read_profile_bytes(path)
    text = decode_text(data, str(path))
    fmt = format_of(path) or sniff_format(text)
    profile, warnings = parse_profile(text, fmt, source=str(path), path=path, base_dir=path.parent)
    if group_or_other_readable(mode) and _has_inline_secret(profile):
        # Like wg-quick's "is world accessible", for the file that holds the secret.
        warnings.insert(0, permission_warning(path, "profile"))
    return profile.replace(name=name), warnings


def report(profile: Profile, warnings: list[str], *, notice_ignored: bool = False) -> None:
    """Log what the user should know about a profile that loaded.

    The keys a cage ignores are logged at info level (``-v``), as ``up`` need not mention
    them every time; with ``notice_ignored`` (``profile check``) as a note at normal level.
    """
    for warning in warnings:
        log.warning("warning: %s", warning)
    if profile.ignored:
        (log.warning if notice_ignored else log.info)(
            "%s%s: ignoring %s (host routing and firewall settings; a cage needs none)",
            "note: " if notice_ignored else "",
            profile.path,
            ", ".join(profile.ignored),
        )


def load_profile(name_or_path: str) -> Profile:
    """The validated profile a name (through the search path) or a path refers to.

    Key files are read. Ignored keys are logged at info level, permission problems at
    warning level. Raises ProfileError, whose ``problems`` list every problem found.
    """
    path, name = resolve(name_or_path)
    profile, warnings = read_profile_file(path, name)
    report(profile, warnings)
    return profile


def absolute_key_files(profile: Profile, base_dir: Path | None) -> Profile:
    """The profile with relative key file paths made absolute against ``base_dir``.

    A stored copy lives in another directory than the file it came from, where a relative
    reference would point at nothing (and wg-quick runs hooks from its own working directory).
    """
    from wirecage.profiles.validate import resolve_key_file

    def fix(path: Path | None) -> Path | None:
        return None if path is None else resolve_key_file(path, base_dir).absolute()

    iface = profile.interface.replace(private_key_file=fix(profile.interface.private_key_file))
    peers = tuple(p.replace(preshared_key_file=fix(p.preshared_key_file)) for p in profile.peers)
    return profile.replace(interface=iface, peers=peers)


def has_relative_key_files(profile: Profile) -> bool:
    files = [profile.interface.private_key_file, *(p.preshared_key_file for p in profile.peers)]
    return any(f is not None and not f.expanduser().is_absolute() for f in files)


def render(profile: Profile, fmt: str) -> str:
    """The profile as text in ``fmt`` (keys included; key files stay references)."""
    if fmt == "conf":
        from wirecage.profiles.conf import write_conf

        return write_conf(profile, source=str(profile.path or profile.name or "profile"))
    from wirecage.profiles.tomlfmt import write_toml

    return write_toml(profile)


# --- writing (the user's directory only) -------------------------------------------------------


def stored_path(name: str) -> Path | None:
    """The file of profile ``name`` in the user's directory, if there is one."""
    check_name(name)
    directory = user_profile_dir()
    for fmt in FORMATS:
        path = directory / f"{name}.{fmt}"
        if _is_profile_file(path):
            return path
    return None


def managed_path(name: str) -> Path:
    """The user's own profile ``name``, which wirecage may change; else a clear error."""
    path = stored_path(name)
    if path is not None:
        return path
    elsewhere = find_profile(name)  # raises "no profile named"
    raise ProfileError(
        f"profile '{name}' is {elsewhere}, outside {user_profile_dir()}, "
        "the only directory wirecage changes",
        hint=f"'wirecage profile import {elsewhere}' makes a copy of your own",
    )


def _os_error_hint(exc: OSError, path: Path) -> str | None:
    match exc.errno:
        case errno.EACCES | errno.EPERM:
            return f"check the owner and permissions of {path.parent}"
        case errno.ENOTDIR | errno.EEXIST:
            return f"a file stands where a directory belongs in {path}; move it away"
        case errno.EISDIR:
            return f"{path} is a directory; move it away"
        case errno.ENOSPC | errno.EDQUOT:
            return "free some space on that file system"
        case errno.EROFS:
            return "the file system is mounted read-only"
    return None


@contextlib.contextmanager
def _os_errors(action: str, path: Path):
    """An OSError while changing the store becomes a ProfileError naming ``path``."""
    try:
        yield
    except OSError as exc:
        raise ProfileError(
            f"cannot {action} {path}: {exc.strerror or exc}", hint=_os_error_hint(exc, path)
        ) from None


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_temp(directory: Path, name: str, data: bytes) -> Path:
    import tempfile  # only when writing: `wirecage up` reads, and starts faster without it

    with _os_errors("write a profile in", directory):
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{name}.", suffix=".tmp")
        try:
            os.fchmod(fd, 0o600)  # mkstemp's default, made explicit: profiles hold secrets
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
    return Path(tmp)


def _exists_error(name: str, path: Path, hint: str | None = None) -> ProfileError:
    return ProfileError(
        f"profile '{name}' already exists ({path})",
        hint=hint or "choose another name, or replace it with --force",
    )


def _make_user_dir() -> Path:
    directory = user_profile_dir()
    with _os_errors("create the profile directory", directory):
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    return directory


def write_profile(name: str, text: str, fmt: str, *, overwrite: bool = False) -> Path:
    """Store ``text`` as profile ``name`` in the user's directory, atomically, mode 0600.

    Without ``overwrite`` an existing profile of that name (in either format) is an error;
    with it, the new file replaces the old one (and a same-name file in the other format
    is removed, so the name keeps meaning the new profile).
    """
    check_name(name)
    if fmt not in FORMATS:
        raise ValueError(f"unknown profile format {fmt!r}")
    directory = _make_user_dir()
    target = directory / f"{name}.{fmt}"
    other = directory / f"{name}.{FORMATS[1 - FORMATS.index(fmt)]}"
    if not overwrite:
        for existing in (target, other):
            # lexists: a dangling symlink is a profile too (reading it fails clearly).
            if os.path.lexists(existing):
                raise _exists_error(name, existing)
    tmp = _write_temp(directory, name, text.encode("utf-8"))
    try:
        with _os_errors("write", target):
            if overwrite:
                os.replace(tmp, target)
            else:
                try:
                    os.link(tmp, target)  # fails if target appeared meanwhile: never overwrite
                except FileExistsError:
                    raise _exists_error(name, target) from None
    finally:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
    if overwrite:
        with _os_errors("remove", other), contextlib.suppress(FileNotFoundError):
            other.unlink()
    with _os_errors("write", target):
        _fsync_dir(directory)
    return target


def replace_profile_file(path: Path, text: str) -> Path:
    """Give the existing profile file ``path`` new contents, atomically, mode 0600.

    For ``profile edit``: a symlinked profile keeps its link and the file it points to gets
    the new text (as editors save through links), and nothing else of that name is touched.
    """
    real = Path(os.path.realpath(path))
    tmp = _write_temp(real.parent, real.stem, text.encode("utf-8"))
    try:
        with _os_errors("write", real):
            os.replace(tmp, real)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    with _os_errors("write", real):
        _fsync_dir(real.parent)
    return real


def remove_profile(name: str) -> Path:
    path = managed_path(name)
    with _os_errors("remove", path):
        path.unlink()
        _fsync_dir(path.parent)
    return path


def rename_profile(old: str, new: str) -> Path:
    """Give the user's profile ``old`` the name ``new``; never replaces an existing one."""
    source = managed_path(old)
    check_name(new)
    if new == old:
        raise ProfileError(f"profile '{old}' is already named '{new}'; nothing to rename")
    target = source.with_name(f"{new}{source.suffix}")
    hint = f"choose another name, or remove profile '{new}' first"
    for fmt in FORMATS:
        existing = source.with_name(f"{new}.{fmt}")
        if os.path.lexists(existing):  # a dangling symlink too
            raise _exists_error(new, existing, hint)
    with _os_errors("rename", source):
        try:
            # The entry itself: a symlinked profile stays a symlink (and a dangling one too).
            os.link(source, target, follow_symlinks=False)
        except FileExistsError:
            raise _exists_error(new, target, hint) from None
        source.unlink()
        _fsync_dir(source.parent)
    return target

"""The per-cage runtime directory: who runs, and later where to reach it.

``$XDG_RUNTIME_DIR/wirecage/NAME/`` for a user (``/tmp/wirecage-UID/NAME/`` without
``XDG_RUNTIME_DIR``), ``/run/wirecage/NAME/`` for root. It holds:

- ``lock``: locked (``flock``) for the life of the cage; a directory whose lock nobody holds
  belongs to a cage that died (SIGKILL) and is removed by the next ``wirecage up``;
- ``info.json``: pid, profile, tunnel addresses (for a future ``wirecage status``);
- the generated ``resolv.conf`` and ``nsswitch.conf`` that the cage bind-mounts;
- later ``control.sock``, the control channel of ``wirecage status`` and ``wirecage exec``,
  to be bound on the host before any namespace exists, like the UDP sockets.

It is removed when wirecage exits.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import shutil
import stat
from pathlib import Path

from wirecage.errors import CageError


def runtime_base() -> Path:
    if os.geteuid() == 0:
        return Path("/run/wirecage")
    xdg = os.environ.get("XDG_RUNTIME_DIR")
    if xdg and os.path.isdir(xdg) and os.stat(xdg).st_uid == os.geteuid():
        return Path(xdg) / "wirecage"
    return Path(f"/tmp/wirecage-{os.geteuid()}")


def _ensure_private_dir(path: Path) -> None:
    try:
        path.mkdir(mode=0o700, parents=False, exist_ok=True)
    except FileNotFoundError:
        path.parent.mkdir(mode=0o755, parents=True, exist_ok=True)
        path.mkdir(mode=0o700, exist_ok=True)
    except OSError as exc:
        raise CageError(f"cannot create the runtime directory {path}: {exc.strerror}") from None
    st = os.lstat(path)
    if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.geteuid():
        raise CageError(
            f"the runtime directory {path} is not a directory owned by this user",
            hint=f"remove {path}",
        )


def _lock_is_free(lock: Path) -> bool:
    try:
        fd = os.open(lock, os.O_RDWR | os.O_CLOEXEC)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except BlockingIOError:
        return False
    finally:
        os.close(fd)


def _safe_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", name)[:64] or "cage"


class RuntimeDir:
    def __init__(self, path: Path, lock_fd: int, *, running_before: bool = False):
        self.path = path
        self._lock_fd = lock_fd
        # Another live cage of the same name had the directory first (we are NAME-2, ...).
        self.running_before = running_before

    @classmethod
    def create(cls, name: str, base: Path | None = None) -> RuntimeDir:
        base = base or runtime_base()
        _ensure_private_dir(base)
        # Sweep cages that died without cleaning up (their lock is free).
        for entry in base.iterdir():
            if entry.is_dir() and _lock_is_free(entry / "lock"):
                shutil.rmtree(entry, ignore_errors=True)
        stem = _safe_name(name)
        for n in range(1, 1000):
            path = base / (stem if n == 1 else f"{stem}-{n}")
            try:
                path.mkdir(mode=0o700)
            except FileExistsError:
                continue
            lock_fd = os.open(path / "lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            fcntl.flock(lock_fd, fcntl.LOCK_EX)
            return cls(path, lock_fd, running_before=n > 1)
        raise CageError(f"too many cages named {stem} in {base}")

    @property
    def name(self) -> str:
        return self.path.name

    def write(self, filename: str, text: str, mode: int = 0o644) -> str:
        path = self.path / filename
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, mode)
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.chmod(path, mode)
        return str(path)

    def write_info(self, info: dict) -> None:
        self.write("info.json", json.dumps(info, indent=2, sort_keys=True) + "\n", 0o600)

    def remove(self) -> None:
        shutil.rmtree(self.path, ignore_errors=True)
        with contextlib.suppress(OSError):
            os.close(self._lock_fd)

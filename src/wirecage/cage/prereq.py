"""Prerequisites of the cage, checked on the host before anything is built.

Each check either passes or raises CageError (exit status 125) with a hint naming the fix,
so that a machine that cannot run a cage says why in one line instead of failing halfway.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

from wirecage.cage import libc
from wirecage.cage.tun import TUN_PATH, open_tun_device
from wirecage.errors import CageError

APPARMOR_USERNS = Path("/proc/sys/kernel/apparmor_restrict_unprivileged_userns")
DEBIAN_USERNS = Path("/proc/sys/kernel/unprivileged_userns_clone")
MAX_USER_NAMESPACES = Path("/proc/sys/user/max_user_namespaces")

HINT_APPARMOR = (
    "Ubuntu 23.10 and later restrict unprivileged user namespaces through AppArmor: run "
    "'sudo sysctl kernel.apparmor_restrict_unprivileged_userns=0' (or add an AppArmor "
    "profile allowing userns for wirecage), or run wirecage with sudo"
)
HINT_DEBIAN = (
    "run 'sudo sysctl kernel.unprivileged_userns_clone=1' to allow unprivileged user "
    "namespaces, or run wirecage with sudo"
)
HINT_MAX = (
    "user namespaces are limited to 0 here: run 'sudo sysctl user.max_user_namespaces=15000', "
    "or run wirecage with sudo"
)


def _read_int(path: Path) -> int | None:
    try:
        return int(path.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def user_namespace_problem() -> CageError | None:
    """Why this machine refuses unprivileged user namespaces, if it visibly does."""
    if _read_int(DEBIAN_USERNS) == 0:
        return CageError(
            "unprivileged user namespaces are disabled (kernel.unprivileged_userns_clone=0)",
            hint=HINT_DEBIAN,
        )
    if _read_int(MAX_USER_NAMESPACES) == 0:
        return CageError("user namespaces are disabled (user.max_user_namespaces=0)", hint=HINT_MAX)
    return None


def check_user_namespaces() -> None:
    problem = user_namespace_problem()
    if problem is not None:
        raise problem


def explain_userns_failure(exc: OSError, step: str) -> CageError:
    """Turn a failure while making or using the user namespace into an error with a hint."""
    if _read_int(APPARMOR_USERNS) == 1:
        return CageError(
            f"cannot set up the user namespace ({step}: {exc.strerror}); AppArmor restricts "
            "unprivileged user namespaces (kernel.apparmor_restrict_unprivileged_userns=1)",
            hint=HINT_APPARMOR,
        )
    problem = user_namespace_problem()
    if problem is not None:
        return problem
    if exc.errno == errno.ENOSPC:
        return CageError(
            f"cannot create a user namespace ({step}: the limit of user namespaces is reached)",
            hint="raise user.max_user_namespaces (sysctl), or run wirecage with sudo",
        )
    if exc.errno == errno.EINVAL and step == "unshare":
        return CageError(
            "cannot create a user namespace: this process has more than one thread",
        )
    return CageError(
        f"cannot set up the user namespace ({step}: {exc.strerror})",
        hint="unprivileged user namespaces may be disabled here (seccomp, container "
        "policy); run wirecage with sudo",
    )


def open_tun(path: str = TUN_PATH) -> int:
    """Open /dev/net/tun on the host, or fail with the fix."""
    try:
        return open_tun_device(path)
    except FileNotFoundError:
        raise CageError(
            f"{path} does not exist",
            hint="load the tun module ('sudo modprobe tun') or create the device node "
            f"('sudo mkdir -p /dev/net && sudo mknod {path} c 10 200 && sudo chmod 0666 {path}')",
        ) from None
    except PermissionError:
        raise CageError(
            f"{path} is not usable by this user (permission denied)",
            hint=f"make it usable: 'sudo chmod 0666 {path}' (most distributions ship it 0666), "
            "or run wirecage with sudo",
        ) from None
    except OSError as exc:
        raise CageError(f"cannot open {path}: {exc.strerror}") from None


def errno_text(exc: OSError) -> str:
    return f"{exc.strerror or os.strerror(exc.errno or 0)} ({libc.errno_name(exc.errno or 0)})"

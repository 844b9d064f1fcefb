"""The few Linux system calls Python 3.11 does not wrap: unshare, setns, mount, prctl, signalfd.

They are reached through ``ctypes.CDLL(None)``, the C library the interpreter already has
loaded (never ``ctypes.util.find_library``, which runs ``ldconfig`` in a subprocess). Each
wrapper raises ``OSError`` with the real errno, so callers can turn the common failures into
messages with hints.
"""

from __future__ import annotations

import ctypes
import errno as errno_mod
import os
import signal
import struct
from collections.abc import Iterable

_libc = ctypes.CDLL(None, use_errno=True)

CLONE_NEWNS = 0x00020000
CLONE_NEWPID = 0x20000000
CLONE_NEWUSER = 0x10000000
CLONE_NEWNET = 0x40000000

MS_RDONLY = 0x1
MS_NOSUID = 0x2
MS_NODEV = 0x4
MS_NOEXEC = 0x8
MS_BIND = 0x1000
MS_REC = 0x4000
MS_PRIVATE = 0x40000

PR_SET_PDEATHSIG = 1

SFD_NONBLOCK = os.O_NONBLOCK
SFD_CLOEXEC = os.O_CLOEXEC
# si_code of a signal the kernel generated itself, e.g. the terminal's Ctrl-C or hangup.
SI_KERNEL = 0x80

_libc.unshare.argtypes = [ctypes.c_int]
_libc.setns.argtypes = [ctypes.c_int, ctypes.c_int]
_libc.mount.argtypes = [
    ctypes.c_char_p,
    ctypes.c_char_p,
    ctypes.c_char_p,
    ctypes.c_ulong,
    ctypes.c_char_p,
]
_libc.prctl.argtypes = [ctypes.c_int] + [ctypes.c_ulong] * 4
_libc.signalfd.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int]


def _check(result: int, what: str, path: str | None = None) -> int:
    if result == -1:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}", path)
    return result


def unshare(flags: int) -> None:
    """Move this process into new namespaces (``flags``: CLONE_NEW*)."""
    _check(_libc.unshare(flags), "unshare")


def setns(fd: int, nstype: int = 0) -> None:
    """Join the namespace open at ``fd`` (an open ``/proc/PID/ns/*`` file)."""
    _check(_libc.setns(fd, nstype), "setns")


def mount(
    source: str | None,
    target: str,
    fstype: str | None = None,
    flags: int = 0,
    data: str | None = None,
) -> None:
    def enc(s: str | None) -> bytes | None:
        return None if s is None else os.fsencode(s)

    _check(_libc.mount(enc(source), enc(target), enc(fstype), flags, enc(data)), "mount", target)


def set_parent_death_signal(signum: int) -> None:
    """Have the kernel send ``signum`` to this process when its parent thread dies."""
    _check(_libc.prctl(PR_SET_PDEATHSIG, signum, 0, 0, 0), "prctl(PR_SET_PDEATHSIG)")


# glibc's sigset_t is 1024 bits; the kernel reads the first 64 of them.
_SIGSET_BYTES = 128


def _sigset(signals: Iterable[int]) -> bytes:
    bits = 0
    for sig in signals:
        bits |= 1 << (int(sig) - 1)
    return bits.to_bytes(8, "little") + bytes(_SIGSET_BYTES - 8)


# struct signalfd_siginfo: ssi_signo, ssi_errno, ssi_code, ssi_pid, ssi_uid, then fields
# we do not need, 128 bytes in all.
_SIGINFO = struct.Struct("<IiiII")
SIGINFO_SIZE = 128


class SignalInfo:
    """One signal read from a signalfd: its number, its si_code and its sender."""

    __slots__ = ("signo", "code", "pid")

    def __init__(self, signo: int, code: int, pid: int):
        self.signo = signo
        self.code = code
        self.pid = pid

    def __repr__(self) -> str:
        return f"SignalInfo(signo={self.signo}, code={self.code}, pid={self.pid})"

    @property
    def from_kernel(self) -> bool:
        """Raised by the kernel (the terminal's Ctrl-C, Ctrl-\\, hangup), not by kill(2)."""
        return self.code == SI_KERNEL


class SignalFd:
    """Signals delivered as readable records on a file descriptor.

    The signals are blocked for the whole process (``pthread_sigmask``) so that they wait on
    the descriptor instead of interrupting whatever runs; ``read_all`` also tells who sent
    each one (``si_code``), which plain Python signal handlers cannot.
    """

    def __init__(self, signals: Iterable[int]):
        self.signals = frozenset(signals)
        self._old_mask = signal.pthread_sigmask(signal.SIG_BLOCK, self.signals)
        try:
            self.fd = _check(
                _libc.signalfd(-1, _sigset(self.signals), SFD_NONBLOCK | SFD_CLOEXEC), "signalfd"
            )
        except BaseException:
            signal.pthread_sigmask(signal.SIG_SETMASK, self._old_mask)
            raise

    def fileno(self) -> int:
        return self.fd

    def read_all(self) -> list[SignalInfo]:
        infos: list[SignalInfo] = []
        while True:
            try:
                record = os.read(self.fd, SIGINFO_SIZE * 16)
            except BlockingIOError:
                return infos
            except InterruptedError:
                continue
            for off in range(0, len(record) - SIGINFO_SIZE + 1, SIGINFO_SIZE):
                signo, _err, code, pid, _uid = _SIGINFO.unpack_from(record, off)
                infos.append(SignalInfo(signo, code, pid))

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1
            signal.pthread_sigmask(signal.SIG_SETMASK, self._old_mask)

    def __enter__(self) -> SignalFd:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def errno_name(err: int) -> str:
    return errno_mod.errorcode.get(err, str(err))

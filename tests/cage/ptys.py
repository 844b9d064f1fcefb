"""A process on a pseudo-terminal of its own, driven from the test as a user at a keyboard.

``PtySession(argv, env)`` starts ``argv`` as the leader of a new session whose controlling
terminal is a fresh pty with a chosen window size; the test holds the master side. It types
(``send``), reads what the terminal shows (``expect``, which waits for a marker and never for a
fixed time), resizes the window (``resize``: the kernel sends SIGWINCH to the foreground
process group), hangs up (``hang_up``: closing the master) and waits for the exit status.
``close`` kills whatever is left of the session, so a failing test leaves nothing running.

Markers the test waits for should be computed by the program under test (``echo
st-$((6*7))`` prints ``st-42``), so that the terminal's echo of the typed line cannot match.
"""

from __future__ import annotations

import fcntl
import os
import re
import select
import signal
import struct
import termios
from collections.abc import Mapping, Sequence
from pathlib import Path

TIMEOUT = 60.0  # generous: a loaded 2-core machine may take seconds to start a cage


def set_window_size(fd: int, rows: int, cols: int) -> None:
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))


def _stat_fields(pid: int | str) -> list[str] | None:
    """/proc/PID/stat after the command name: state, ppid, pgrp, session, ..."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text[text.rindex(")") + 2 :].split()


def process_state(pid: int) -> str | None:
    """The one-letter state of a process (R, S, T for stopped, Z), None when it is gone."""
    fields = _stat_fields(pid)
    return fields[0] if fields else None


def session_members(sid: int) -> list[int]:
    """Every live process of the session ``sid`` (the cage's processes included: the test
    runs in the host's PID namespace and sees them with host pids)."""
    members = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            fields = _stat_fields(entry.name)
            if fields and fields[3] == str(sid) and fields[0] not in ("Z", "X"):
                members.append(int(entry.name))
    return members


def pids_with_argv(argv: Sequence[str]) -> list[int]:
    """Live processes whose command line is exactly ``argv``."""
    wanted = b"".join(arg.encode() + b"\0" for arg in argv)
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if cmdline == wanted and process_state(int(entry.name)) not in (None, "Z", "X"):
            found.append(int(entry.name))
    return found


class PtySession:
    def __init__(
        self, argv: Sequence[str], env: Mapping[str, str], *, rows: int = 24, cols: int = 80
    ):
        self.output = bytearray()
        self._mark = 0  # expect() looks only at output after the previous match
        self.status: int | None = None
        self.master, slave = os.openpty()
        # The size is set before the child starts, so that it sees it from its first line.
        set_window_size(slave, rows, cols)
        pid = os.fork()
        if pid == 0:  # the child: a session leader with the pty as its controlling terminal
            try:
                os.close(self.master)
                os.setsid()
                fcntl.ioctl(slave, termios.TIOCSCTTY, 0)
                for fd in (0, 1, 2):
                    os.dup2(slave, fd)
                os.close(slave)
                os.execvpe(argv[0], list(argv), dict(env))
            finally:
                os._exit(127)
        os.close(slave)
        self.pid = pid
        self.pidfd = os.pidfd_open(pid)

    # -- the keyboard and the screen -------------------------------------------------------

    def send(self, data: bytes | str) -> None:
        if isinstance(data, str):
            data = data.encode()
        os.write(self.master, data)

    def expect(self, pattern: bytes | str, timeout: float = TIMEOUT) -> re.Match[bytes]:
        """Wait until ``pattern`` (a regular expression) appears in the output after the
        previous match; returns the match. Fails with everything the terminal showed."""
        if isinstance(pattern, str):
            pattern = pattern.encode()
        regex = re.compile(pattern)
        while True:
            match = regex.search(self.output, self._mark)
            if match:
                self._mark = match.end()
                return match
            if not self._read(timeout):
                raise AssertionError(
                    f"no {pattern!r} on the terminal within {timeout:g} s (or it closed); "
                    f"it showed:\n{self.text()}"
                )

    def since(self, start: int) -> str:
        return self.output[start : self._mark].decode(errors="replace")

    def text(self) -> str:
        return self.output.decode(errors="replace")

    def _read(self, timeout: float) -> bool:
        """Read what the terminal shows next; False on timeout or when it closed."""
        if self.master < 0:
            return False
        ready, _, _ = select.select([self.master], [], [], timeout)
        if not ready:
            return False
        try:
            chunk = os.read(self.master, 65536)
        except OSError:  # EIO: every process closed the terminal's other side
            return False
        self.output += chunk
        return bool(chunk)

    # -- the terminal ----------------------------------------------------------------------

    def resize(self, rows: int, cols: int) -> None:
        """Resize the window: the kernel sends SIGWINCH to the foreground process group."""
        set_window_size(self.master, rows, cols)

    def modes(self) -> list:
        """The terminal's modes (the master reports the slave's termios)."""
        return termios.tcgetattr(self.master)

    def hang_up(self) -> None:
        """Close the master, as a terminal emulator does when its window is closed."""
        if self.master >= 0:
            os.close(self.master)
            self.master = -1

    # -- the process -----------------------------------------------------------------------

    def wait(self, timeout: float = TIMEOUT) -> int:
        """The session leader's exit status; reads the terminal meanwhile so that it never
        blocks on a full pty buffer."""
        if self.status is not None:
            return self.status
        while True:
            fds = [self.pidfd] + ([self.master] if self.master >= 0 else [])
            ready, _, _ = select.select(fds, [], [], timeout)
            if not ready:
                raise AssertionError(
                    f"pid {self.pid} still runs after {timeout:g} s; the terminal showed:\n"
                    f"{self.text()}"
                )
            if self.pidfd in ready:
                _, wait_status = os.waitpid(self.pid, 0)
                self.status = os.waitstatus_to_exitcode(wait_status)
                while self._read(0):  # what it wrote last
                    pass
                return self.status
            if not self._read(0):
                self.hang_up()  # EIO: nothing more to read, only the exit to wait for

    def close(self) -> None:
        """Kill the whole session (the cage goes with wirecage) and reap the leader."""
        for pid in session_members(self.pid):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if self.status is None:
            try:
                os.kill(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            _, wait_status = os.waitpid(self.pid, 0)
            self.status = os.waitstatus_to_exitcode(wait_status)
        self.hang_up()
        if self.pidfd >= 0:
            os.close(self.pidfd)
            self.pidfd = -1

    def __enter__(self) -> PtySession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

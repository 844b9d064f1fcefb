"""wirecage on a terminal: Ctrl-C reaches the command once, and wirecage ends with the
command's status."""

from __future__ import annotations

import os
import pty
import select

import pytest

from topology import requires_netns, requires_wggo

pytestmark = [requires_netns, requires_wggo, pytest.mark.root, pytest.mark.wggo]

# Counts SIGINTs; prints "int" for each; on the line "end" prints the count and exits 7.
# The handler writes with os.write: a print() in it may interrupt the main code's print()
# still flushing "ready", and buffered writers refuse such a reentrant call.
COUNT_INTS = r"""
import os, signal, sys
count = 0
def on_int(signo, frame):
    global count
    count += 1
    os.write(1, b"int\n")
signal.signal(signal.SIGINT, on_int)
print("ready", flush=True)
for line in sys.stdin:
    if line.strip() == "end":
        break
print(f"ints={count}", flush=True)
sys.exit(7)
"""


def _read_until(fd: int, needle: bytes, seen: bytearray, timeout: float = 60) -> None:
    while needle not in seen:
        ready, _, _ = select.select([fd], [], [], timeout)
        if not ready:
            raise AssertionError(f"no {needle!r} on the terminal; got {bytes(seen)!r}")
        try:
            chunk = os.read(fd, 4096)
        except OSError:  # EIO: the terminal's other side closed
            chunk = b""
        if not chunk:
            raise AssertionError(f"terminal closed before {needle!r}; got {bytes(seen)!r}")
        seen += chunk


def _drain(fd: int, seen: bytearray) -> None:
    """Read what is left until the terminal's other side is closed."""
    while select.select([fd], [], [], 10)[0]:
        try:
            chunk = os.read(fd, 4096)
        except OSError:
            return
        if not chunk:
            return
        seen += chunk


def test_ctrl_c_reaches_the_command_once(net):
    profile = net.profile("tty")
    argv = net.argv("up", "-q", str(profile), "--", *net.python(COUNT_INTS))
    env = net.env(TERM="dumb")
    pid, master = pty.fork()
    if pid == 0:  # the child: a session leader with the pty as its terminal
        try:
            os.execvpe(argv[0], argv, env)
        finally:
            os._exit(127)
    seen = bytearray()
    try:
        _read_until(master, b"ready", seen)
        os.write(master, b"\x03")  # the terminal's Ctrl-C: SIGINT to the foreground group
        _read_until(master, b"int", seen)
        os.write(master, b"end\n")
        _read_until(master, b"ints=", seen)
        _, status = os.waitpid(pid, 0)
        _drain(master, seen)
    finally:
        try:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
        except (ProcessLookupError, ChildProcessError):
            pass
        os.close(master)
    assert os.waitstatus_to_exitcode(status) == 7
    text = bytes(seen).decode(errors="replace")
    assert "ints=1" in text, text

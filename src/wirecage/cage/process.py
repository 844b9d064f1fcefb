"""The cage's processes: an init (PID 1 of the cage's PID namespace) and the command.

Theory of operation
-------------------
wirecage, already inside the cage's namespaces, forks once. That child is the first process
of the new PID namespace, its init. It:

- asks for SIGKILL when wirecage dies (``PR_SET_PDEATHSIG``) and also watches the "go" pipe
  from wirecage, whose end-of-file means the same; when init exits for any reason, the kernel
  kills every process left in the PID namespace, so nothing of the cage survives wirecage
  or the command;
- closes every inherited descriptor (the TUN device, the UDP sockets): the cage holds no
  handle on the tunnel;
- mounts a /proc of its own PID namespace (best effort: some container runtimes forbid it);
- waits for the go byte (sent at once, or after the first handshake with ``--wait``), then
  forks the command, relays signals to it and reaps orphans, and exits with the command's
  status mapped as env(1) does: the status itself, or 128+N when killed by signal N.

The command runs in wirecage's process group, so the terminal's own signals (Ctrl-C,
Ctrl-\\, Ctrl-Z, window size changes) reach it directly, and job control stops and resumes
wirecage and the command together (init, the init of a PID namespace, ignores the terminal's
stop signals and simply waits). Signals sent to wirecage with kill(2) are relayed to init
and from there to the command; signals the kernel raised for the terminal (si_code
SI_KERNEL) are not relayed, or the command would get Ctrl-C twice. The one exception is a
hangup while wirecage leads the terminal's session: the kernel tells only the session
leader.

An init of a PID namespace ignores signals it has no handler for, except SIGKILL; init
reads its signals from a signalfd, and the command, which is not PID 1, gets normal
signal semantics (``kill -TERM`` ends a shell script with status 143).
"""

from __future__ import annotations

import errno
import os
import select
import signal
import sys
from collections.abc import Iterable, Mapping, Sequence

from wirecage.cage import libc
from wirecage.cage.namespaces import Identity, close_fds_except
from wirecage.errors import EXIT_CAGE_FAILED, EXIT_CANNOT_EXECUTE, EXIT_NOT_FOUND
from wirecage.logs import get_logger

log = get_logger("wirecage.cage")

# Signals that wirecage and init pass on to the command when they are sent with kill(2).
RELAYED_SIGNALS = (
    signal.SIGHUP,
    signal.SIGINT,
    signal.SIGQUIT,
    signal.SIGTERM,
    signal.SIGUSR1,
    signal.SIGUSR2,
)
# Python ignores these; ignored dispositions survive exec, so the command gets them back.
_RESET_TO_DEFAULT = (*RELAYED_SIGNALS, signal.SIGPIPE, signal.SIGXFSZ, signal.SIGCHLD)


def exit_status(wait_status: int) -> int:
    """The exit status for a command's wait status: its own, or 128+N for signal N."""
    code = os.waitstatus_to_exitcode(wait_status)
    return 128 - code if code < 0 else code


class CommandSpec:
    """The command, its environment, and who it runs as."""

    __slots__ = ("argv", "env", "identity", "drop_privileges")

    def __init__(
        self,
        argv: Sequence[str],
        env: Mapping[str, str],
        identity: Identity,
        # Real root running the command as another user: setgroups, setgid, setuid before
        # exec. In a user namespace the identity map already gives the command its uid.
        drop_privileges: bool = False,
    ):
        self.argv = argv
        self.env = env
        self.identity = identity
        self.drop_privileges = drop_privileges


class CageInit:
    """wirecage's handle on the cage's init process."""

    def __init__(self, pid: int, go_fd: int):
        self.pid = pid
        self.pidfd = os.pidfd_open(pid)
        self._go_fd = go_fd
        self.command_started = False
        self.status: int | None = None

    def start_command(self) -> None:
        """Let init start the command."""
        if self.command_started or self._go_fd < 0:
            return
        self.command_started = True
        try:
            os.write(self._go_fd, b"g")
        except BrokenPipeError:
            pass  # init is gone; its pidfd reports that

    def abort(self) -> None:
        """Make init exit before (or instead of) the command: it kills the whole cage."""
        if self._go_fd >= 0:
            os.close(self._go_fd)
            self._go_fd = -1

    def send_signal(self, signo: int) -> None:
        try:
            signal.pidfd_send_signal(self.pidfd, signo)
        except ProcessLookupError:
            pass

    def reap(self) -> int:
        """Wait for init; returns the exit status wirecage should end with."""
        if self.status is None:
            _, wait_status = os.waitpid(self.pid, 0)
            self.status = exit_status(wait_status)
        return self.status

    def close(self) -> None:
        """Kill init if it still runs (it takes the cage down with it) and reap it."""
        self.abort()
        if self.status is None:
            self.send_signal(signal.SIGKILL)
            self.reap()
        if self.pidfd >= 0:
            os.close(self.pidfd)
            self.pidfd = -1


def spawn_init(spec: CommandSpec, *, mount_proc: bool = True) -> CageInit:
    """Fork the cage's init. Call after entering the namespaces (CLONE_NEWPID)."""
    go_r, go_w = os.pipe()
    for stream in (sys.stdout, sys.stderr):
        if stream is not None:  # None when wirecage was started with it closed (2>&-)
            stream.flush()
    pid = os.fork()
    if pid == 0:  # init
        code = EXIT_CAGE_FAILED
        try:
            os.close(go_w)
            code = _init_main(spec, go_r, mount_proc=mount_proc)
        except BaseException as exc:  # noqa: BLE001 - nothing may escape a forked child
            _child_error(f"cage init failed: {exc}")
        finally:
            os._exit(code)
    os.close(go_r)
    return CageInit(pid, go_w)


def _child_error(message: str) -> None:
    try:
        os.write(2, f"wirecage: error: {message}\n".encode(errors="replace"))
    except OSError:
        pass


def _init_main(spec: CommandSpec, go_fd: int, *, mount_proc: bool) -> int:
    libc.set_parent_death_signal(signal.SIGKILL)
    close_fds_except([go_fd])
    signals = libc.SignalFd((*RELAYED_SIGNALS, signal.SIGCHLD))
    if mount_proc:
        _mount_own_proc()

    # Wait for the go byte; end of file means wirecage is gone or gave up.
    if os.read(go_fd, 1) != b"g":
        return EXIT_CAGE_FAILED
    command = os.fork()
    if command == 0:
        _exec_command(spec)  # never returns
    poller = select.poll()
    poller.register(signals.fd, select.POLLIN)
    poller.register(go_fd, select.POLLIN)
    while True:
        for fd, _events in poller.poll():
            if fd == go_fd:
                if os.read(go_fd, 64) == b"":
                    return EXIT_CAGE_FAILED  # wirecage died: take the cage down
                continue
            for info in signals.read_all():
                if info.signo == signal.SIGCHLD:
                    status = _reap(command)
                    if status is not None:
                        return status
                elif not info.from_kernel:
                    try:
                        os.kill(command, info.signo)
                    except ProcessLookupError:
                        pass


def _reap(command: int) -> int | None:
    """Reap every exited child (orphans are re-parented to init); the command's status."""
    result = None
    while True:
        try:
            pid, wait_status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return result
        if pid == 0:
            return result
        if pid == command:
            result = exit_status(wait_status)


def _mount_own_proc() -> None:
    """A /proc that shows the cage's processes, in a mount namespace of init's own."""
    try:
        libc.unshare(libc.CLONE_NEWNS)
        libc.mount(None, "/", None, libc.MS_REC | libc.MS_PRIVATE)
        libc.mount("proc", "/proc", "proc", libc.MS_NOSUID | libc.MS_NODEV | libc.MS_NOEXEC)
    except OSError as exc:
        log.debug("keeping the host's /proc in the cage: %s", exc.strerror)


def _exec_command(spec: CommandSpec) -> None:
    code = EXIT_CANNOT_EXECUTE
    try:
        for sig in _RESET_TO_DEFAULT:
            signal.signal(sig, signal.SIG_DFL)
        signal.pthread_sigmask(signal.SIG_SETMASK, [])
        ident = spec.identity
        if spec.drop_privileges:
            os.setgroups(list(ident.groups))
            os.setgid(ident.gid)
            os.setuid(ident.uid)
        argv = list(spec.argv)
        try:
            os.execvpe(argv[0], argv, dict(spec.env))
        except FileNotFoundError:
            code = EXIT_NOT_FOUND
            if "/" in argv[0]:
                _child_error(f"{argv[0]}: no such file or directory")
            else:
                _child_error(f"{argv[0]}: command not found")
        except OSError as exc:
            reason = exc.strerror or os.strerror(exc.errno or errno.EIO)
            _child_error(f"cannot execute {argv[0]}: {reason}")
    except BaseException as exc:  # noqa: BLE001
        _child_error(f"cannot start the command: {exc}")
    finally:
        os._exit(code)


def relay_or_abort(init: CageInit, infos: Iterable[libc.SignalInfo]) -> int | None:
    """Handle signals that reached wirecage.

    Before the command runs, any of them ends wirecage (status 128+N). Afterwards, signals
    sent with kill(2) are relayed to the command; the terminal's own already reached it,
    except a hangup that only wirecage heard.
    """
    for info in infos:
        if not init.command_started:
            return 128 + info.signo
        if not info.from_kernel or _hangup_heard_only_by_us(info):
            init.send_signal(info.signo)
    return None


def _hangup_heard_only_by_us(info: libc.SignalInfo) -> bool:
    """When a terminal hangs up, the kernel sends SIGHUP to the session leader alone; a
    shell there passes it on to its jobs. When wirecage itself leads the session (a terminal
    emulator's ``-e wirecage up ...``, ``setsid --ctty``, a shell that execs it), nobody
    else tells the command, which would outlive its terminal."""
    return info.signo == signal.SIGHUP and os.getsid(0) == os.getpid()

"""wirecage on a terminal, driven through real pseudo-terminals (see ptys.py).

What should hold, and why it can: the command runs in wirecage's process group, so the
terminal's own signals (Ctrl-C, Ctrl-Z, SIGWINCH) reach it directly and job control stops
and resumes wirecage and the command together; an interactive shell inside makes process
groups of its own and hands the terminal to its jobs as on any terminal. Signals sent to
wirecage with kill(2) are relayed to the command. wirecage runs rootless (as ``nobody``) in
the client host namespace against the real wireguard-go peer, as in test_up_e2e.py.

Every wait is for a marker the program under test prints, computed so that the terminal's
echo of the typed line cannot match it (``echo st-$((6*7))`` prints ``st-42``).
"""

from __future__ import annotations

import os
import shlex
import signal
from pathlib import Path

import pytest

from cage.cagenet import VENV_PYTHON, cage_namespaces, nothing_left
from cage.ptys import PtySession, pids_with_argv, process_state, session_members
from topology import requires_netns, requires_wggo, wait_until

pytestmark = [requires_netns, requires_wggo, pytest.mark.root, pytest.mark.wggo]

# An interactive bash with a fixed prompt, no history file and a terminal that tput knows.
SHELL_ENV = {"TERM": "xterm", "HISTFILE": "", "PS1": "$ "}

# A foreground job that says when it runs, when it is continued, and what it read.
JOB = r"""
import os, signal, sys
# Handlers write with os.write: print() could be interrupted inside its own flush.
signal.signal(signal.SIGCONT, lambda signo, frame: os.write(1, b"job-" b"continued\n"))
print("job-" + "ready", flush=True)
line = sys.stdin.readline()
print("job-got-" + line.strip().upper(), flush=True)
sys.exit(5)
"""

# A full-screen program: the alternate screen and raw mode, its size on start and on every
# SIGWINCH, and the terminal's modes put back when "q" is typed.
SCREEN = r"""
import os, signal, sys, termios, tty
fd = sys.stdin.fileno()
saved = termios.tcgetattr(fd)
def show(what):
    size = os.get_terminal_size(fd)
    os.write(1, f"{what}-{size.lines}x{size.columns}\r\n".encode())
signal.signal(signal.SIGWINCH, lambda signo, frame: show("winch"))
os.write(1, b"\x1b[?1049h")
tty.setraw(fd)
icanon = termios.tcgetattr(fd)[3] & termios.ICANON
show(f"raw{int(not icanon)}-size")
while os.read(fd, 1) != b"q":
    pass
os.write(1, b"\x1b[?1049l")
termios.tcsetattr(fd, termios.TCSADRAIN, saved)
"""

# Counts the signals it gets; prints each; on the line "end" prints the count and exits 40.
TRAP = r"""
import os, signal, sys
got = []
def on_signal(signo, frame):
    got.append(signo)
    os.write(1, f"got-{signal.Signals(signo).name}\n".encode())
for sig in (signal.SIGHUP, signal.SIGINT, signal.SIGTERM):
    signal.signal(sig, on_signal)
print("trap-" + "ready", flush=True)
for line in sys.stdin:
    if line.strip() == "end":
        break
print(f"count-{len(got)}", flush=True)
sys.exit(40)
"""


@pytest.fixture(scope="module")
def scripts(net) -> dict[str, Path]:
    """The scripts as files nobody can read (a typed command line stays short)."""
    paths = {}
    for name, text in (("job", JOB), ("screen", SCREEN), ("trap", TRAP)):
        path = net.dir / f"tty-{name}.py"
        path.write_text(text)
        os.chmod(path, 0o644)
        paths[name] = path
    return paths


def up_argv(profile: Path, *command: str) -> list[str]:
    """wirecage up, as typed at a shell already running as nobody in the client host."""
    argv = [VENV_PYTHON, "-m", "wirecage", "up", "-q", str(profile)]
    return argv + (["--", *command] if command else [])


def outer_shell(net) -> PtySession:
    """An interactive bash as nobody in the client host namespace: wirecage runs as its job."""
    argv = net.client_argv(["/bin/bash", "--norc", "--noprofile", "-i"])
    return PtySession(argv, net.env(**SHELL_ENV), rows=37, cols=101)


def test_ctrl_c_reaches_the_command_once(net, scripts):
    profile = net.profile("tty-int")
    with PtySession(
        net.argv("up", "-q", str(profile), "--", VENV_PYTHON, str(scripts["trap"])),
        net.env(TERM="dumb"),
    ) as term:
        term.expect("trap-ready")
        term.send(b"\x03")  # the terminal's Ctrl-C: SIGINT to the foreground process group
        term.expect("got-SIGINT")
        term.send("end\n")
        term.expect("count-1")  # once: wirecage does not relay what the terminal sent
        assert term.wait() == 40


@pytest.mark.parametrize("where", ["session leader", "job of a shell"])
def test_interactive_shell_runs_commands_and_exits_with_its_status(net, where):
    """`wirecage up PROFILE` with no command runs $SHELL, interactive on the terminal. Run
    from an outer shell, that shell has the terminal back once the inner one exits (the
    inner shell cannot hand it back itself: the outer process group is outside the cage's
    PID namespace)."""
    profile = net.profile("tty-shell")
    if where == "session leader":
        term = PtySession(
            net.argv("up", "-q", str(profile)), net.env(SHELL="/bin/bash", **SHELL_ENV)
        )
    else:
        term = outer_shell(net)
        term.send("export SHELL=/bin/bash; " + shlex.join(up_argv(profile)) + "\n")
    with term:
        term.send('echo "in-$((6*7))-$WIRECAGE_PROFILE"\n')
        term.expect("in-42-tty-shell")
        term.send("ping -c 1 -W 5 10.77.0.1 >/dev/null && echo pong-$((1+1))\n")
        term.expect("pong-2")
        term.send("exit 3\n")
        if where == "session leader":
            assert term.wait() == 3
        else:
            term.send('echo "st-$?"\n')
            term.expect("st-3")
            term.send('echo "outer-$((1+1))"; exit\n')
            term.expect("outer-2")
            assert term.wait() == 0


def test_ctrl_z_in_the_interactive_shell_stops_its_job(net, scripts):
    """The shell in the cage has job control: Ctrl-Z stops its foreground job, the prompt
    comes back, `jobs` lists the job as stopped, `fg` resumes it."""
    profile = net.profile("tty-shell-z")
    env = net.env(SHELL="/bin/bash", **SHELL_ENV)
    job = [VENV_PYTHON, str(scripts["job"])]
    with PtySession(net.argv("up", "-q", str(profile)), env) as term:
        term.send(shlex.join(job) + "\n")
        term.expect("job-ready")
        term.send(b"\x1a")
        term.expect("Stopped")
        assert [process_state(pid) for pid in pids_with_argv(job)] == ["T"]
        term.send('jobs; echo "jobs-$((2+2))"\n')
        term.expect(r"(?s)\[1\]\+\s+Stopped.*jobs-4")
        term.send("fg\n")
        term.expect("job-continued")
        term.send("resume\n")
        term.expect("job-got-RESUME")
        term.send('echo "st-$?"\n')
        term.expect("st-5")
        term.send("exit\n")
        assert term.wait() == 0


def test_ctrl_z_stops_wirecage_as_a_job_and_fg_resumes_it(net, scripts):
    """`wirecage up p -- cmd` run from an interactive shell is one job: Ctrl-Z stops
    wirecage and the command, `fg` resumes both, and the command completes normally."""
    profile = net.profile("tty-job")
    job = [VENV_PYTHON, str(scripts["job"])]
    with outer_shell(net) as term:
        term.send(shlex.join(up_argv(profile, *job)) + "\n")
        term.expect("job-ready")
        term.send(b"\x1a")
        term.expect(r"\[1\]\+\s+Stopped")
        # The job is wirecage (the leader of its process group) and the command in the cage;
        # the cage's init ignores terminal stop signals and waits.
        (command,) = pids_with_argv(job)
        (wirecage,) = [pid for pid in pids_with_argv(up_argv(profile, *job)) if _leads_group(pid)]
        wait_until(lambda: process_state(wirecage) == "T", what="wirecage to stop")
        wait_until(lambda: process_state(command) == "T", what="the command to stop")
        term.send('jobs; echo "jobs-$((2+2))"\n')
        term.expect(r"(?s)\[1\]\+\s+Stopped.*jobs-4")
        term.send("fg\n")
        term.expect("job-continued")
        assert process_state(wirecage) != "T"
        term.send("resume\n")
        term.expect("job-got-RESUME")
        term.send('echo "st-$?"\n')
        term.expect("st-5")
        term.send("exit\n")
        assert term.wait() == 0


def _leads_group(pid: int) -> bool:
    return os.getpgid(pid) == pid


def test_full_screen_program(net, scripts):
    """The window size is seen inside, a resize reaches the command as SIGWINCH, and the
    terminal's modes are as before once the program has put them back and exited."""
    profile = net.profile("tty-screen")
    modes = r"modes-([0-9a-f:]+)-end"
    with outer_shell(net) as term:  # a 37x101 window
        term.send('echo "modes-$(stty -g)-end"\n')
        before = term.expect(modes).group(1)
        command = (
            "stty size; tput lines; tput cols; "
            f"exec {shlex.join([VENV_PYTHON, str(scripts['screen'])])}"
        )
        term.send(shlex.join(up_argv(profile, "sh", "-c", command)) + "\n")
        term.expect(r"37 101\r\n37\r\n101\r\n")
        term.expect("raw1-size-37x101")  # raw mode took effect inside the cage
        term.resize(50, 132)
        term.expect("winch-50x132")
        term.resize(40, 90)
        term.expect("winch-40x90")
        term.send("q")
        term.send('echo "st-$?"\n')
        term.expect("st-0")
        term.send('echo "modes-$(stty -g)-end"\n')
        after = term.expect(modes).group(1)
        term.send("exit\n")
        assert term.wait() == 0
    assert after == before


@pytest.mark.parametrize("how", ["command", "kill -HUP", "interactive shell", "job", "stopped job"])
def test_hangup_ends_the_command_and_leaves_nothing_behind(net, how):
    """Closing the terminal (its master side) ends the command, wirecage and the cage,
    whether wirecage leads the terminal's session (``xterm -e wirecage up ...``), runs a
    shell there, or is a running or stopped job of an interactive shell; so does a SIGHUP
    sent to wirecage with kill(2)."""
    profile = net.profile("tty-hup")
    sleeper = "sleep 3181"
    direct = how in ("command", "kill -HUP")
    if direct:
        command = f"echo ready-$((1+1)); exec {sleeper}"
        argv = net.argv("up", "-q", str(profile), "--", "sh", "-c", command)
        term = PtySession(argv, net.env(**SHELL_ENV))
    elif how == "interactive shell":
        argv = net.argv("up", "-q", str(profile))
        term = PtySession(argv, net.env(SHELL="/bin/bash", **SHELL_ENV))
    else:
        term = outer_shell(net)
    with term:
        if how == "interactive shell":
            term.send(f'{sleeper} & echo "ready-$((1+1))"\n')
        elif how in ("job", "stopped job"):
            command = f"echo ready-$((1+1)); exec {sleeper}"
            term.send(shlex.join(up_argv(profile, "sh", "-c", command)) + "\n")
        term.expect("ready-2")
        if how == "stopped job":
            term.send(b"\x1a")
            term.expect("Stopped")
        if direct or how == "interactive shell":
            wirecage = term.pid  # the session leader
        else:
            (wirecage,) = [
                pid for pid in session_members(term.pid) if pid != term.pid and _leads_group(pid)
            ]
        inodes = cage_namespaces(wirecage)
        if how == "kill -HUP":
            os.kill(wirecage, signal.SIGHUP)
        else:
            term.hang_up()
        status = term.wait()
        wait_until(lambda: nothing_left(inodes, [sleeper]), what="the cage to go away")
        wait_until(lambda: not session_members(term.pid), what="the session to end")
    if direct:
        assert status == 128 + signal.SIGHUP  # the command's own end, by the hangup
    # The shells' statuses are theirs: bash may see the end of input before the SIGHUP.


@pytest.mark.parametrize("signo", [signal.SIGHUP, signal.SIGINT, signal.SIGTERM])
def test_signals_sent_to_wirecage_reach_the_command_once(net, scripts, signo):
    profile = net.profile("tty-kill")
    argv = net.argv("up", "-q", str(profile), "--", VENV_PYTHON, str(scripts["trap"]))
    with PtySession(argv, net.env(TERM="dumb")) as term:
        term.expect("trap-ready")
        os.kill(term.pid, signo)  # kill(2) to wirecage alone, not to its process group
        term.expect(f"got-{signal.Signals(signo).name}")
        term.send("end\n")
        term.expect("count-1")
        assert term.wait() == 40

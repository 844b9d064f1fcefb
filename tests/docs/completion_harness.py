"""Drive the real shells' completion machinery and return what they would offer.

- bash: ``COMP_WORDS``/``COMP_CWORD``/``COMP_LINE``/``COMP_POINT`` set as readline would set
  them, then the completion function that ``complete -p wirecage`` names is called and
  ``COMPREPLY`` printed. bash-completion (for ``_command_offset``) is loaded or not.
- zsh: only ZLE runs completion widgets, so an interactive zsh runs in a pseudo-terminal
  with a throwaway ``$ZDOTDIR/.zshrc``. A key bound to a widget puts the line in the buffer
  and runs ``complete-word``; a ``compadd`` wrapper records every match zsh would add to a
  file; then the widget writes a marker file and exits. We wait for the marker (no sleeps
  as synchronisation, a generous deadline) and read the matches.
- fish: its own non-interactive entry point, ``complete -C LINE``.

Each shell loads the committed script from completions/, which the drift test keeps equal
to what the parser generates.
"""

from __future__ import annotations

import fcntl
import os
import pty
import re
import select
import shlex
import shutil
import signal
import struct
import subprocess
import termios
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent.parent
COMPLETIONS = REPO / "completions"
BASH_COMPLETION = Path("/usr/share/bash-completion/bash_completion")
DEADLINE = 60.0  # seconds; a loaded 2-core machine can be slow, a working shell is not


def readline_words(line: str) -> list[str]:
    """Split a command line into words as bash's readline does for our test lines: at
    blanks, with "=" a word of its own (it is in the default COMP_WORDBREAKS)."""
    words: list[str] = []
    for blank_separated in line.split(" "):
        parts = blank_separated.split("=")
        for i, part in enumerate(parts):
            if i:
                words.append("=")
            if part or i == len(parts) - 1:
                words.append(part)
    # "wirecage " ends with an empty word: the one being completed. But "--format=" ends
    # with the word "=" itself: readline puts the cursor word there.
    if len(words) > 1 and words[-1] == "" and words[-2] == "=":
        words.pop()
    return [w for i, w in enumerate(words) if w or i == len(words) - 1]


def run_shell(
    argv: list[str], env: dict[str, str], cwd: Path, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    """A non-interactive shell, its output captured as text, within DEADLINE."""
    return subprocess.run(
        argv, input=stdin, env=env, cwd=cwd, capture_output=True, text=True, timeout=DEADLINE
    )


def complete_bash(
    line: str, env: dict[str, str], cwd: Path, *, bash_completion: bool = True
) -> list[str]:
    words = readline_words(line)
    script = "\n".join(
        [
            f"source {shlex.quote(str(BASH_COMPLETION))}" if bash_completion else "",
            f"source {shlex.quote(str(COMPLETIONS / 'wirecage.bash'))}",
            "complete -W 'alpha beta' wctestcmd",
            f"COMP_WORDS=({' '.join(shlex.quote(w) for w in words)})",
            f"COMP_CWORD={len(words) - 1}",
            f"COMP_LINE={shlex.quote(line)}",
            f"COMP_POINT={len(line)}",
            "COMPREPLY=()",
            # The function bound to wirecage, as bash itself would look it up.
            "spec=$(complete -p wirecage) || exit 3",
            "func=${spec#*-F }; func=${func%% *}",
            '"$func" wirecage "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"',
            "printf '%s\\n' \"${COMPREPLY[@]}\"",
        ]
    )
    proc = run_shell(["bash", "--norc", "--noprofile", "-c", script], env, cwd)
    assert proc.returncode == 0, proc.stderr
    return [w for w in proc.stdout.splitlines() if w]


def complete_fish(line: str, env: dict[str, str], cwd: Path) -> list[str]:
    script = "\n".join(
        [
            f"source {shlex.quote(str(COMPLETIONS / 'wirecage.fish'))}",
            "complete -c wctestcmd -f -a 'alpha beta'",
            f"complete -C {shlex.quote(line)}",
        ]
    )
    proc = run_shell(["fish", "--no-config", "-c", script], env, cwd)
    assert proc.returncode == 0, proc.stderr
    assert not proc.stderr, proc.stderr
    # Each candidate is "word<TAB>description".
    return [c.split("\t", 1)[0] for c in proc.stdout.splitlines() if c]


ZSHRC = r"""
fpath=($WC_FPATH $fpath)
autoload -Uz compinit && compinit -u -D
LISTMAX=100000
compdef '_values word alpha beta' wctestcmd

# Record every match completion adds. Calls that only ask what would match (-O, -A, -D)
# are passed through unrecorded.
compadd() {
  if [[ ${@[1,(i)(-|--)]} == *-(O|A|D)\ * ]]; then
    builtin compadd "$@"
    return $?
  fi
  local -a __wc_matches
  builtin compadd -O __wc_matches "$@"
  (( $#__wc_matches )) && print -rl -- $__wc_matches >> $WC_OUT
  builtin compadd "$@"
}

_wc_run() {
  BUFFER=$WC_LINE
  CURSOR=$#BUFFER
  zle complete-word
  print -r -- done > $WC_OUT.done
  BUFFER=exit
  zle accept-line
}
zle -N _wc_run
bindkey '^T' _wc_run
PS1='wc-ready> '
"""


def complete_zsh(line: str, env: dict[str, str], cwd: Path) -> list[str]:
    workdir = cwd.parent / "zsh-harness"  # outside cwd, where file names are completed
    workdir.mkdir(exist_ok=True)
    zdotdir = workdir / "zdotdir"
    zdotdir.mkdir(exist_ok=True)
    (zdotdir / ".zshrc").write_text(ZSHRC)
    fpath = workdir / "zfpath"
    fpath.mkdir(exist_ok=True)
    (fpath / "_wirecage").write_text((COMPLETIONS / "_wirecage").read_text())
    out = workdir / "zsh-matches"
    done = workdir / "zsh-matches.done"
    for f in (out, done):
        f.unlink(missing_ok=True)
    env = dict(env, ZDOTDIR=str(zdotdir), WC_FPATH=str(fpath), WC_OUT=str(out), WC_LINE=line)
    env.setdefault("TERM", "xterm")

    pid, fd = pty.fork()
    if pid == 0:  # the child: exec at once, and never return into pytest
        try:
            os.chdir(cwd)
            os.execvpe("zsh", ["zsh", "-i"], env)
        finally:
            os._exit(127)
    try:
        fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 50, 200, 0, 0))
        screen = b""
        sent = False
        deadline = time.monotonic() + DEADLINE
        while not done.exists():
            if time.monotonic() > deadline:
                raise AssertionError(f"zsh did not complete {line!r}; screen: {screen[-2000:]!r}")
            ready, _, _ = select.select([fd], [], [], 0.2)
            if ready:
                try:
                    data = os.read(fd, 65536)
                except OSError:  # EIO: the shell has gone
                    data = b""
                if not data and not done.exists():
                    raise AssertionError(f"zsh exited early; screen: {screen[-2000:]!r}")
                screen += data
            # Keep reading the terminal so the shell never blocks on a full pty buffer.
            if not sent and b"wc-ready> " in screen:
                os.write(fd, b"\x14")  # Ctrl-T: the test widget
                sent = True
    finally:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        os.waitpid(pid, 0)
        os.close(fd)
    return out.read_text().split("\n")[:-1] if out.exists() else []


COMPLETERS = {"bash": complete_bash, "zsh": complete_zsh, "fish": complete_fish}


def complete(shell: str, line: str, env: dict[str, str], cwd: Path) -> list[str]:
    """What ``shell`` offers for the word at the end of ``line``."""
    return COMPLETERS[shell](line, env, cwd)


# The profile search path after the user's own directory (see man/wirecage.1, FILES).
SYSTEM_PROFILE_DIRS = (Path("/etc/wirecage/profiles"), Path("/etc/wireguard"))


def system_profile_names() -> set[str]:
    """Names the completions will also find in the system directories of this machine."""
    names = set()
    for directory in SYSTEM_PROFILE_DIRS:
        try:
            entries = list(directory.iterdir())
        except OSError:  # missing, or readable by root only
            continue
        for entry in entries:
            valid = re.fullmatch(r"[A-Za-z0-9_.+=-]{1,64}", entry.stem)
            if entry.suffix in (".conf", ".toml") and entry.is_file() and valid:
                names.add(entry.stem)
    return names


def require(program: str) -> None:
    if shutil.which(program) is None:
        pytest.skip(f"{program} is not installed (scripts/setup.sh installs it)")

"""The generated parts of the documentation, and the list of every generated file.

man/wirecage.1 is written by hand, except for regions between markers that this module
fills in from the argparse parser (through ``wirecage.cli.spec``)::

    .\\" generated: synopsis                   every command's usage line
    .\\" generated: usage wirecage up          one command's usage line
    .\\" generated: options wirecage up        its arguments and options, with their help
    .\\" generated: end

and the version in the ``.TH`` line. Each command must have its ``usage`` region, and an
``options`` region when it has anything to list; a region naming no command is an error. So a
new subcommand or option cannot be forgotten: the drift test fails, and
``python scripts/gen_docs.py`` says which section is missing rather than guessing where the
prose belongs.
"""

from __future__ import annotations

import re
from pathlib import Path

from wirecage import __version__
from wirecage.cli import parser as cli_parser
from wirecage.cli.completion import FILES as COMPLETION_FILES
from wirecage.cli.completion import GENERATORS as COMPLETION_GENERATORS
from wirecage.cli.spec import CHOICES, Command, Option, Positional, cli_spec

MAN_PAGE = "man/wirecage.1"

_MARKER = re.compile(r'^\.\\" generated: (?P<what>\S+)(?: (?P<command>.+?))?\s*$')
_END = "end"


# ------------------------------------------------------------------------------ roff helpers


def _text(text: str) -> str:
    """Plain text for roff: backslashes escaped, option-like words with real minus signs."""
    text = text.replace("\\", "\\e")
    # "--wait" and "-v" are typed, so they need minus signs, not hyphens; "ad-hoc" keeps its.
    text = re.sub(r"(?<![\w-])(-{1,2})(?=[A-Za-z])", lambda m: "\\-" * len(m[1]), text)
    return text


def _line(text: str, width: int = 80) -> str:
    """A text line, broken at spaces into lines of at most ``width`` bytes where it can be
    (``mandoc -Tlint`` asks for 80), none starting with a control character."""
    lines: list[str] = []
    for word in text.split(" "):
        if lines and len(lines[-1]) + 1 + len(word.encode()) <= width:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return "\n".join("\\&" + x if x[:1] in (".", "'") else x for x in lines)


def _bold(word: str) -> str:
    """A literal word (a command, an option, a choice): every "-" is a minus sign."""
    return "\\fB" + word.replace("\\", "\\e").replace("-", "\\-") + "\\fR"


def _italic(word: str) -> str:
    return "\\fI" + _text(word) + "\\fR"


def _sentence(text: str) -> str:
    text = text.strip()
    if not text:
        return text
    text = text[0].upper() + text[1:]
    return text if text.endswith((".", "!", "?")) else text + "."


def _value(opt: Option) -> str:
    if opt.complete == CHOICES and opt.choices:
        return "|".join(_bold(c) for c in opt.choices)
    return _italic(opt.metavar or "VALUE")


def _option_term(opt: Option) -> str:
    flags = ", ".join(_bold(f) for f in opt.flags)
    return flags + (" " + _value(opt) if opt.takes_value else "")


def _positional_usage(pos: Positional) -> str:
    if pos.complete == cli_parser.COMMAND:
        return "[" + _bold("--") + " " + _italic("COMMAND") + " [" + _italic("ARG") + "]...]"
    word = _italic(pos.metavar) + ("..." if pos.repeat else "")
    return "[" + word + "]" if pos.optional else word


def _listed_options(cmd: Command, root: Command) -> list[Option]:
    # --help is on every command: the page says so once, under the global options.
    return [o for o in cmd.options if cmd is root or "--help" not in o.flags]


def _listed_positionals(cmd: Command) -> list[Positional]:
    # The command line after -- is described in the prose, not as an argument.
    return [p for p in cmd.positionals if p.complete != cli_parser.COMMAND]


def usage(cmd: Command, root: Command) -> str:
    """One command's synopsis, as a roff ``.SY`` block."""
    words = []
    if root.options:
        words.append("[" + _italic("global-options") + "]")
    words += [_bold(w) for w in cmd.path[1:]]
    if _listed_options(cmd, root):
        words.append("[" + _italic("options") + "]")
    words += [_positional_usage(p) for p in cmd.positionals]
    return f".SY {root.path[0]}\n" + _line(" ".join(words)) + "\n.YS"


def options(cmd: Command, root: Command) -> str:
    """One command's arguments and options as a roff ``.TP`` list; empty if it has none."""
    items = []
    for pos in _listed_positionals(cmd):
        items.append((_italic(pos.metavar), _sentence(pos.help)))
    for opt in _listed_options(cmd, root):
        help_text = _sentence(opt.help)
        if opt.repeatable and opt.takes_value:
            help_text += " May be given more than once."
        items.append((_option_term(opt), help_text))
    return "\n".join(f".TP\n{_line(term)}\n{_line(_text(body))}" for term, body in items)


def _leaves(root: Command) -> list[Command]:
    return [c for c in root.walk() if not c.subcommands]


# ----------------------------------------------------------------------------- the man page


def render_man_page(source: str, root: Command | None = None, *, name: str = MAN_PAGE) -> str:
    """``source`` with every generated region and the ``.TH`` version brought up to date.

    Raises ValueError naming the page and the command when a region is missing, unknown or
    unterminated.
    """
    root = root or cli_spec()
    commands = {c.name: c for c in root.walk()}
    out: list[str] = []
    seen: set[tuple[str, str]] = set()
    lines = source.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith(".TH "):
            # .TH TITLE SECTION DATE SOURCE MANUAL: SOURCE carries the version.
            line = re.sub(r'"wirecage( [^"]*)?"', f'"wirecage {__version__}"', line)
        match = _MARKER.match(line)
        if not match:
            out.append(line)
            i += 1
            continue
        what, command = match["what"], match["command"] or ""
        if what == _END:
            raise ValueError(f'{name}:{i + 1}: ".\\" generated: end" without a region')
        end = i + 1
        while end < len(lines) and not _is_end(lines[end]):
            if _MARKER.match(lines[end]):
                raise ValueError(f"{name}:{i + 1}: region {what} {command} is not closed")
            end += 1
        if end == len(lines):
            raise ValueError(f"{name}:{i + 1}: region {what} {command} is not closed")
        if what == "synopsis":
            body = "\n".join(usage(c, root) for c in _leaves(root))
        elif what in ("usage", "options") and command in commands:
            cmd = commands[command]
            body = usage(cmd, root) if what == "usage" else options(cmd, root)
        else:
            raise ValueError(
                f"{name}:{i + 1}: unknown region {what!r} {command!r} "
                f"(commands: {', '.join(commands)})"
            )
        seen.add((what, command))
        out.append(line)
        if body:
            out.append(body)
        out.append(lines[end])
        i = end + 1

    missing = []
    if ("synopsis", "") not in seen:
        missing.append('.\\" generated: synopsis')
    for cmd in root.walk():
        if cmd is not root and not cmd.subcommands and ("usage", cmd.name) not in seen:
            missing.append(f'.\\" generated: usage {cmd.name}')
        if options(cmd, root) and ("options", cmd.name) not in seen:
            missing.append(f'.\\" generated: options {cmd.name}')
    if missing:
        raise ValueError(
            f"{name} has no place for: "
            + "; ".join(missing)
            + ' (add each marker and a ".\\" generated: end" line where it belongs, with prose)'
        )
    return "\n".join(out) + "\n"


def _is_end(line: str) -> bool:
    match = _MARKER.match(line)
    return bool(match and match["what"] == _END)


# ------------------------------------------------------------------------- every generated file


def generated_files(repo: Path) -> dict[str, str]:
    """Every generated file of the repository (relative path → content), from this parser."""
    root = cli_spec()
    files = {path: COMPLETION_GENERATORS[shell](root) for shell, path in COMPLETION_FILES.items()}
    page = repo / MAN_PAGE
    files[MAN_PAGE] = render_man_page(page.read_text(encoding="utf-8"), root)
    return files

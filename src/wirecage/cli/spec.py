"""The command line as plain data, read from the argparse parser, for the generators.

The shell completions (``wirecage.cli.completion``) and the option lists of the man page
(``wirecage.cli.docs``) are written from this tree, never from a second description of
the CLI, so that adding an option to ``wirecage.cli.parser`` is all it takes to document and
complete it. argparse keeps what we need in attributes that are not documented but have been
stable for a decade (``_actions``, the subparsers action's ``choices`` and
``_choices_actions``); they are read here and nowhere else.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from dataclasses import dataclass

from wirecage.cli import parser as cli_parser

# Completion kinds besides those of wirecage.cli.parser (PROFILE, FILE, USER, COMMAND).
NONE = "none"  # nothing the shell could guess: a key, an address, a number
CHOICES = "choices"  # one of Option.choices / Positional.choices


@dataclass(frozen=True)
class Option:
    flags: tuple[str, ...]  # e.g. ("-y", "--yes"), in the parser's order
    help: str
    metavar: str | None  # None when the option takes no value
    complete: str  # what the shell offers for the value
    choices: tuple[str, ...] = ()
    repeatable: bool = False  # may be given more than once (append, count)
    exits: bool = False  # --help, --version: nothing else matters

    @property
    def takes_value(self) -> bool:
        return self.metavar is not None


@dataclass(frozen=True)
class Positional:
    metavar: str
    help: str
    complete: str
    choices: tuple[str, ...] = ()
    optional: bool = False
    repeat: bool = False  # nargs "*" or "+": this slot takes every further word


@dataclass(frozen=True)
class Command:
    path: tuple[str, ...]  # ("wirecage",), ("wirecage", "profile", "show")
    help: str  # the one line shown in the parent's list of subcommands
    description: str
    options: tuple[Option, ...]
    positionals: tuple[Positional, ...]
    subcommands: tuple[Command, ...]

    @property
    def name(self) -> str:
        return " ".join(self.path)

    @property
    def takes_command_line(self) -> bool:
        """Whether the words after ``--`` (or after the last slot) are a command of their own."""
        return any(p.complete == cli_parser.COMMAND for p in self.positionals)

    def walk(self) -> Iterator[Command]:
        """This command and every command below it, parents before children."""
        yield self
        for sub in self.subcommands:
            yield from sub.walk()


def _expand_help(parser: argparse.ArgumentParser, action: argparse.Action) -> str:
    if not action.help or action.help == argparse.SUPPRESS:
        return ""
    # The formatter fills in %(default)s, %(prog)s and friends exactly as --help does.
    return parser._get_formatter()._expand_help(action)


def _kind(action: argparse.Action) -> str:
    explicit = getattr(action, "complete", None)
    if explicit:
        return explicit
    if action.choices:
        return CHOICES
    metavar = action.metavar if isinstance(action.metavar, str) else ""
    if metavar.upper().endswith("FILE"):
        return cli_parser.FILE
    return NONE


def _choices(action: argparse.Action) -> tuple[str, ...]:
    return tuple(str(c) for c in action.choices) if action.choices else ()


def _option(parser: argparse.ArgumentParser, action: argparse.Action) -> Option:
    takes_value = action.nargs != 0
    metavar: str | None = None
    if takes_value:
        if isinstance(action.metavar, str):
            metavar = action.metavar
        elif action.choices:
            metavar = "{" + ",".join(_choices(action)) + "}"
        else:
            metavar = action.dest.upper()
    return Option(
        flags=tuple(action.option_strings),
        help=_expand_help(parser, action),
        metavar=metavar,
        complete=_kind(action) if takes_value else NONE,
        choices=_choices(action),
        repeatable=isinstance(action, argparse._AppendAction | argparse._CountAction),
        exits=isinstance(action, argparse._HelpAction | argparse._VersionAction),
    )


def _positional(parser: argparse.ArgumentParser, action: argparse.Action) -> Positional:
    metavar = action.metavar if isinstance(action.metavar, str) else action.dest.upper()
    return Positional(
        metavar=metavar,
        help=_expand_help(parser, action),
        complete=_kind(action),
        choices=_choices(action),
        optional=action.nargs in ("?", "*", argparse.REMAINDER),
        # A command line (``up``'s COMMAND after --) is one slot: the words after its first
        # are that command's own arguments, not more of the same slot.
        repeat=action.nargs in ("*", "+") and _kind(action) != cli_parser.COMMAND,
    )


def _command(parser: argparse.ArgumentParser, path: tuple[str, ...], help_line: str) -> Command:
    options: list[Option] = []
    positionals: list[Positional] = []
    subcommands: list[Command] = []
    for action in parser._actions:
        if action.help == argparse.SUPPRESS:
            continue
        if isinstance(action, argparse._SubParsersAction):
            help_of = {a.dest: a.help or "" for a in action._choices_actions}
            for name, subparser in action.choices.items():
                if name not in help_of:  # an alias: complete and document the real name only
                    continue
                subcommands.append(_command(subparser, (*path, name), help_of[name]))
        elif action.option_strings:
            options.append(_option(parser, action))
        else:
            positionals.append(_positional(parser, action))
    return Command(
        path=path,
        help=help_line,
        description=parser.description or help_line,
        options=tuple(options),
        positionals=tuple(positionals),
        subcommands=tuple(subcommands),
    )


def cli_spec(parser: argparse.ArgumentParser | None = None) -> Command:
    """The whole command line, from ``wirecage.cli.parser.build_parser()`` by default."""
    if parser is None:
        parser = cli_parser.build_parser()
    return _command(parser, (parser.prog,), parser.description or "")

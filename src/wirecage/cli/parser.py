"""The one argparse parser: the single source of the CLI, its completions and man page.

Handlers are named as ``module:function`` strings and imported only when chosen, so that
``wirecage up`` does not pay for importing the profile editor and vice versa.

The shell completions and the option lists of man/wirecage.1 are generated from this parser
(``python scripts/gen_docs.py``; a test fails when the committed files differ). For that,
every option has a help text, and an argument whose values the shell can offer says which
with ``_complete(action, KIND)``: PROFILE (profile names), FILE, USER or COMMAND (a command
line of its own). Arguments with ``choices`` complete to those, and a metavar ending in FILE
means a file name, without saying so.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from wirecage import __version__

PROG = "wirecage"

# What the shell offers for an argument's value (read by wirecage.cli.spec).
PROFILE = "profile"
FILE = "file"
USER = "user"
COMMAND = "command"


def _complete(action: argparse.Action, kind: str) -> argparse.Action:
    setattr(action, "complete", kind)  # noqa: B010 (an attribute argparse does not declare)
    return action


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser that can take a command after ``--`` verbatim.

    With ``command_dest`` set, everything after the first ``--`` is stored there untouched,
    so that ``wirecage up work --wait -- ssh -v host`` gives wirecage ``--wait`` and ssh
    ``-v``, and ``wirecage up --wg-... -- ls`` does not mistake ``ls`` for a profile.
    """

    command_dest: str | None = None

    def parse_known_args(self, args=None, namespace=None):  # type: ignore[override]
        if self.command_dest is None or args is None or "--" not in args:
            return super().parse_known_args(args, namespace)
        args = list(args)
        cut = args.index("--")
        namespace, extras = super().parse_known_args(args[:cut], namespace)
        if getattr(namespace, self.command_dest, None):
            self.error("give the command after --, not before it")
        setattr(namespace, self.command_dest, args[cut + 1 :])
        return namespace, extras


def _add_common(parser: argparse.ArgumentParser, *, after_command: bool = False) -> None:
    def default(value):
        # After a subcommand nothing is set unless given, so `wirecage -v up` keeps its -v.
        return argparse.SUPPRESS if after_command else value

    parser.add_argument(
        "-v", "--verbose", action="count", default=default(0), help="show each step (repeatable)"
    )
    parser.add_argument(
        "-q", "--quiet", action="store_true", default=default(False), help="show only errors"
    )
    parser.add_argument(
        "--debug",
        action="store_true",
        default=default(False),
        help="show tracebacks for errors (for bug reports)",
    )


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The whole command line; with ``command`` (a subcommand's name) only that subcommand.

    Building every subcommand costs milliseconds (argparse formats and checks each argument
    as it is added), which ``wirecage up`` would pay at each start for commands it does not
    run; ``main`` therefore asks for the one the command line names. Usage and help of that
    subcommand are the same either way.
    """
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Run a command in a cage whose only way out is a WireGuard tunnel.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    _add_common(parser)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    adders = [_ADDERS[command]] if command in _ADDERS else list(dict.fromkeys(_ADDERS.values()))
    for add in adders:
        add(sub)
    return parser


def command_word(argv: Sequence[str]) -> str | None:
    """The subcommand an argument list names: its first word that is not an option.

    The top-level options (-v, -q, --debug, --version, -h) take no values, so that word is
    the subcommand, if the command line is right at all.
    """
    for arg in argv:
        if arg == "--":
            return None
        if not arg.startswith("-"):
            return arg
    return None


def _add_up(sub) -> None:
    up = sub.add_parser(
        "up",
        help="run a command in a cage whose only network is a profile's tunnel",
        usage="%(prog)s [options] [PROFILE] [-- COMMAND [ARG ...]]",
        description="Run COMMAND (default: $SHELL) as the calling user in a cage whose only "
        "network is the WireGuard tunnel of PROFILE. Exits with the command's status "
        "(125: wirecage failed, 126: cannot execute, 127: not found, 128+N: killed by signal N).",
    )
    up.command_dest = "cmd"
    _add_common(up, after_command=True)
    _complete(
        up.add_argument("profile", nargs="?", metavar="PROFILE", help="profile name or path"),
        PROFILE,
    )
    up.add_argument("--wg-public-key", metavar="KEY", help="ad-hoc profile: the peer's public key")
    up.add_argument(
        "--wg-private-key-file", metavar="FILE", help="ad-hoc profile: file with our private key"
    )
    up.add_argument(
        "--wg-endpoint", metavar="HOST:PORT", help="ad-hoc profile: the peer's endpoint"
    )
    up.add_argument(
        "--wg-address", metavar="CIDR", action="append", help="ad-hoc profile: our tunnel address"
    )
    up.add_argument(
        "--dns",
        metavar="IP",
        action="append",
        help="nameserver inside the cage (overrides profile)",
    )
    _complete(
        up.add_argument("--user", metavar="NAME", help="run the command as this user (when root)"),
        USER,
    )
    up.add_argument(
        "--wait", action="store_true", help="start the command only after the first handshake"
    )
    up.add_argument(
        "--wait-timeout",
        metavar="SECONDS",
        type=float,
        default=10.0,
        help="how long --wait waits for the handshake (default: %(default)s)",
    )
    _complete(
        up.add_argument(
            "cmd",
            nargs="*",
            metavar="COMMAND",
            help="the command and its arguments, after -- (default: $SHELL)",
        ),
        COMMAND,
    )
    up.set_defaults(handler="wirecage.cli.up_cmd:cmd_up")


def _add_profile(sub) -> None:
    profile = sub.add_parser("profile", help="manage profiles")
    psub = profile.add_subparsers(dest="profile_command", metavar="ACTION", required=True)

    p = psub.add_parser("list", help="list the profiles")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("--names", action="store_true", help="print bare names only")
    p.set_defaults(handler="wirecage.cli.profile_cmd:cmd_list")

    p = psub.add_parser("show", help="show a profile, normalised")
    _complete(p.add_argument("name", metavar="NAME", help="profile name or path"), PROFILE)
    p.add_argument("--show-keys", action="store_true", help="show private and preshared keys")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(handler="wirecage.cli.profile_cmd:cmd_show")

    p = psub.add_parser("import", help="validate a .conf or TOML file and store it")
    _complete(
        p.add_argument("file", metavar="FILE", help="the file to import, or - for standard input"),
        FILE,
    )
    p.add_argument("--name", help="store under this name (default: the file's stem)")
    p.add_argument("--format", choices=("conf", "toml"), help="store in this format")
    p.add_argument("--force", action="store_true", help="overwrite an existing profile")
    p.set_defaults(handler="wirecage.cli.profile_cmd:cmd_import")

    p = psub.add_parser("new", help="create a profile with a new private key")
    p.add_argument("name", metavar="NAME", help="the new profile's name")
    p.add_argument("--endpoint", required=True, metavar="HOST:PORT", help="the peer's endpoint")
    p.add_argument("--peer-public-key", required=True, metavar="KEY", help="the peer's public key")
    p.add_argument(
        "--address", required=True, action="append", metavar="CIDR", help="our tunnel address"
    )
    p.add_argument(
        "--dns", action="append", metavar="IP|DOMAIN", help="nameserver or search domain"
    )
    p.add_argument(
        "--allowed-ips",
        action="append",
        metavar="CIDR",
        help="networks routed into the tunnel (default: 0.0.0.0/0 and ::/0)",
    )
    p.add_argument("--preshared-key-file", metavar="FILE", help="file with a preshared key")
    p.add_argument(
        "--format", choices=("conf", "toml"), default="conf", help="file format (default: conf)"
    )
    p.set_defaults(handler="wirecage.cli.profile_cmd:cmd_new")

    p = psub.add_parser("edit", help="edit a profile with $VISUAL or $EDITOR")
    _complete(p.add_argument("name", metavar="NAME", help="profile name"), PROFILE)
    p.set_defaults(handler="wirecage.cli.profile_cmd:cmd_edit")

    p = psub.add_parser("remove", help="remove a profile")
    _complete(p.add_argument("name", metavar="NAME", help="profile name"), PROFILE)
    p.add_argument("--yes", "-y", action="store_true", help="do not ask")
    p.set_defaults(handler="wirecage.cli.profile_cmd:cmd_remove")

    p = psub.add_parser("rename", help="rename a profile")
    _complete(p.add_argument("old", metavar="OLD", help="the profile's name"), PROFILE)
    p.add_argument("new", metavar="NEW", help="its new name")
    p.set_defaults(handler="wirecage.cli.profile_cmd:cmd_rename")

    p = psub.add_parser("export", help="print a profile, keys included")
    _complete(p.add_argument("name", metavar="NAME", help="profile name or path"), PROFILE)
    p.add_argument(
        "--format", choices=("conf", "toml"), help="output format (default: the profile's own)"
    )
    p.set_defaults(handler="wirecage.cli.profile_cmd:cmd_export")

    p = psub.add_parser("check", help="report every problem in a profile")
    _complete(p.add_argument("name", metavar="FILE|NAME", help="profile name or path"), PROFILE)
    p.set_defaults(handler="wirecage.cli.profile_cmd:cmd_check")


def _add_keys(sub) -> None:
    p = sub.add_parser("genkey", help="print a new private key (like wg genkey)")
    p.set_defaults(handler="wirecage.cli.key_cmd:cmd_genkey")
    p = sub.add_parser("pubkey", help="read a private key on stdin, print its public key")
    p.set_defaults(handler="wirecage.cli.key_cmd:cmd_pubkey")
    p = sub.add_parser("genpsk", help="print a new preshared key (like wg genpsk)")
    p.set_defaults(handler="wirecage.cli.key_cmd:cmd_genpsk")


def _add_completion(sub) -> None:
    p = sub.add_parser(
        "completion",
        help="print the completion script for a shell",
        description="Print the completion script for SHELL, the same as the installed one.",
    )
    p.add_argument(
        "shell", choices=("bash", "zsh", "fish"), metavar="SHELL", help="bash, zsh or fish"
    )
    p.set_defaults(handler="wirecage.cli.completion:cmd_completion")


# Each subcommand's name and the function that adds it (genkey, pubkey and genpsk together).
_ADDERS = {
    "up": _add_up,
    "profile": _add_profile,
    "genkey": _add_keys,
    "pubkey": _add_keys,
    "genpsk": _add_keys,
    "completion": _add_completion,
}

"""The one argparse parser: the single source of the CLI, its completions and man page.

Handlers are named as ``module:function`` strings and imported only when chosen, so that
``wirecage up`` does not pay for importing the profile editor and vice versa.
"""

from __future__ import annotations

import argparse

from wirecage import __version__

PROG = "wirecage"


def _add_common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-v", "--verbose", action="count", default=0, help="show each step (repeatable)"
    )
    parser.add_argument("-q", "--quiet", action="store_true", help="show only errors")
    parser.add_argument(
        "--debug", action="store_true", help="show tracebacks for errors (for bug reports)"
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Run a command in a cage whose only way out is a WireGuard tunnel.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    _add_common(parser)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    _add_up(sub)
    _add_profile(sub)
    _add_keys(sub)
    return parser


def _add_up(sub) -> None:
    up = sub.add_parser(
        "up",
        help="run a command in a cage whose only network is a profile's tunnel",
        description="Run COMMAND (default: $SHELL) as the calling user in a cage whose only "
        "network is the WireGuard tunnel of PROFILE. Exits with the command's status.",
    )
    up.add_argument("profile", nargs="?", metavar="PROFILE", help="profile name or path")
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
    up.add_argument("--user", metavar="NAME", help="run the command as this user (when root)")
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
    up.add_argument(
        "cmd", nargs=argparse.REMAINDER, metavar="-- COMMAND", help="the command and its arguments"
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
    p.add_argument("name", metavar="NAME")
    p.add_argument("--show-keys", action="store_true", help="show private and preshared keys")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(handler="wirecage.cli.profile_cmd:cmd_show")

    p = psub.add_parser("import", help="validate a .conf or TOML file and store it")
    p.add_argument("file", metavar="FILE", help="the file to import, or - for standard input")
    p.add_argument("--name", help="store under this name (default: the file's stem)")
    p.add_argument("--format", choices=("conf", "toml"), help="store in this format")
    p.add_argument("--force", action="store_true", help="overwrite an existing profile")
    p.set_defaults(handler="wirecage.cli.profile_cmd:cmd_import")

    p = psub.add_parser("new", help="create a profile with a new private key")
    p.add_argument("name", metavar="NAME")
    p.add_argument("--endpoint", required=True, metavar="HOST:PORT")
    p.add_argument("--peer-public-key", required=True, metavar="KEY")
    p.add_argument("--address", required=True, action="append", metavar="CIDR")
    p.add_argument("--dns", action="append", metavar="IP|DOMAIN")
    p.add_argument("--allowed-ips", action="append", metavar="CIDR")
    p.add_argument("--preshared-key-file", metavar="FILE")
    p.add_argument("--format", choices=("conf", "toml"), default="conf")
    p.set_defaults(handler="wirecage.cli.profile_cmd:cmd_new")

    p = psub.add_parser("edit", help="edit a profile with $VISUAL or $EDITOR")
    p.add_argument("name", metavar="NAME")
    p.set_defaults(handler="wirecage.cli.profile_cmd:cmd_edit")

    p = psub.add_parser("remove", help="remove a profile")
    p.add_argument("name", metavar="NAME")
    p.add_argument("--yes", "-y", action="store_true", help="do not ask")
    p.set_defaults(handler="wirecage.cli.profile_cmd:cmd_remove")

    p = psub.add_parser("rename", help="rename a profile")
    p.add_argument("old", metavar="OLD")
    p.add_argument("new", metavar="NEW")
    p.set_defaults(handler="wirecage.cli.profile_cmd:cmd_rename")

    p = psub.add_parser("export", help="print a profile, keys included")
    p.add_argument("name", metavar="NAME")
    p.add_argument("--format", choices=("conf", "toml"))
    p.set_defaults(handler="wirecage.cli.profile_cmd:cmd_export")

    p = psub.add_parser("check", help="report every problem in a profile")
    p.add_argument("name", metavar="FILE|NAME")
    p.set_defaults(handler="wirecage.cli.profile_cmd:cmd_check")


def _add_keys(sub) -> None:
    p = sub.add_parser("genkey", help="print a new private key (like wg genkey)")
    p.set_defaults(handler="wirecage.cli.key_cmd:cmd_genkey")
    p = sub.add_parser("pubkey", help="read a private key on stdin, print its public key")
    p.set_defaults(handler="wirecage.cli.key_cmd:cmd_pubkey")
    p = sub.add_parser("genpsk", help="print a new preshared key (like wg genpsk)")
    p.set_defaults(handler="wirecage.cli.key_cmd:cmd_genpsk")

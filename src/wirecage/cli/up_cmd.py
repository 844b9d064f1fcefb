"""``wirecage up``: turn the command line into an UpRequest and run it.

The profile is a stored name, a path, or an ad-hoc profile made from the original wirecage's
flags (``--wg-public-key``, ``--wg-private-key-file``, ``--wg-endpoint``, ``--wg-address``),
which routes everything through the one peer. Like env(1), every failure of wirecage itself
ends with status 125, so that it cannot be mistaken for the command's own status.
"""

from __future__ import annotations

import argparse
import ipaddress
import math
from pathlib import Path

from wirecage.errors import EXIT_CAGE_FAILED, UsageError, WirecageError
from wirecage.profiles.model import Endpoint, Interface, Peer, Profile
from wirecage.wg.keys import KeyFormatError, PrivateKey, PublicKey

ADHOC_FLAGS = ("wg_public_key", "wg_private_key_file", "wg_endpoint", "wg_address")
ROUTE_EVERYTHING = (ipaddress.ip_network("0.0.0.0/0"), ipaddress.ip_network("::/0"))


def parse_endpoint(text: str) -> Endpoint:
    host, sep, port = text.rpartition(":")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise UsageError(
            f"--wg-endpoint {text}: expected HOST:PORT or [IPv6]:PORT with a port 1-65535"
        )
    return Endpoint(host, int(port))


def adhoc_profile(args: argparse.Namespace) -> Profile:
    """A profile from the original wirecage's flags: one peer, everything routed to it."""
    missing = [f"--{f.replace('_', '-')}" for f in ADHOC_FLAGS if not getattr(args, f)]
    if missing:
        raise UsageError(
            f"an ad-hoc profile needs {', '.join(missing)}",
            hint="or name a profile: wirecage up PROFILE -- COMMAND",
        )
    try:
        public = PublicKey.from_base64(args.wg_public_key.strip())
    except KeyFormatError as exc:
        raise UsageError(f"--wg-public-key: {exc}") from None
    path = Path(args.wg_private_key_file)
    try:
        text = path.read_text().strip()
    except OSError as exc:
        raise UsageError(f"--wg-private-key-file {path}: {exc.strerror}") from None
    try:
        private = PrivateKey.from_base64(text)
    except KeyFormatError as exc:
        raise UsageError(f"{path}: not a private key: {exc}") from None
    addresses = []
    for item in args.wg_address:
        for part in item.split(","):
            try:
                addresses.append(ipaddress.ip_interface(part.strip()))
            except ValueError:
                raise UsageError(f"--wg-address {part.strip()}: not an address") from None
    return Profile(
        interface=Interface(private_key=private, private_key_file=path, addresses=tuple(addresses)),
        peers=(
            Peer(
                public_key=public,
                endpoint=parse_endpoint(args.wg_endpoint),
                allowed_ips=ROUTE_EVERYTHING,
            ),
        ),
        name="adhoc",
    )


def load(args: argparse.Namespace) -> Profile:
    given = [f for f in ADHOC_FLAGS if getattr(args, f)]
    if args.profile and given:
        raise UsageError("give either PROFILE or the --wg-* flags, not both")
    if args.profile:
        from wirecage.profiles.store import load_profile

        return load_profile(args.profile)
    if given:
        return adhoc_profile(args)
    raise UsageError(
        "which profile? wirecage up PROFILE -- COMMAND",
        hint="'wirecage profile list' shows the profiles",
    )


def cmd_up(args: argparse.Namespace) -> int:
    from wirecage.app.up import UpRequest, run_up

    try:
        profile = load(args)
        dns = None
        if args.dns:
            try:
                dns = [ipaddress.ip_address(d.strip()) for a in args.dns for d in a.split(",")]
            except ValueError as exc:
                raise UsageError(f"--dns: {exc}") from None
        if not 0 < args.wait_timeout < math.inf:  # nan and inf too
            raise UsageError("--wait-timeout must be a number of seconds more than 0")
        request = UpRequest(
            profile=profile,
            command=list(args.cmd or ()),
            dns=dns,
            user=args.user,
            wait=args.wait,
            wait_timeout=args.wait_timeout,
        )
        return run_up(request)
    except WirecageError as exc:
        # env(1)'s convention: wirecage's own failures are 125, whatever their kind.
        exc.exit_code = EXIT_CAGE_FAILED
        raise

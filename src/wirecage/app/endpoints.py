"""Stage 1 on the host: resolving the peers' endpoints and choosing the MTU.

Names are resolved once, on the host's network, before the cage exists (inside it there is
no resolver but the tunnel's). Temporary failures (``EAI_AGAIN``: no network yet, a slow
resolver) are retried with a growing pause; permanent ones end wirecage with the name, the
peer and the resolver's reason.
"""

from __future__ import annotations

import ipaddress
import socket
import time
from collections.abc import Callable, Sequence

from wirecage.errors import CageError
from wirecage.logs import get_logger
from wirecage.profiles.model import Endpoint, Peer

log = get_logger("wirecage")

# Pauses between attempts when resolution fails temporarily: about 8 s in all.
RESOLVE_RETRY_PAUSES = (0.25, 0.5, 1.0, 2.0, 4.0)
DEFAULT_MTU = 1420
# IPv6 (40) + UDP (8) + WireGuard's header and tag (32), as wg-quick counts it.
WIREGUARD_OVERHEAD = 80
# The least MTU an interface with an address of the family may have (RFC 8200, RFC 791).
IPV6_MIN_MTU = 1280
IPV4_MIN_MTU = 576
# From <linux/in.h> and <linux/in6.h>; Python's socket module does not export both.
IP_MTU = 14
IPV6_MTU = 24


def resolve_endpoint(
    peer: Peer,
    endpoint: Endpoint,
    *,
    pauses: Sequence[float] = RESOLVE_RETRY_PAUSES,
    sleep: Callable[[float], None] = time.sleep,
) -> tuple[str, int]:
    """The first address for ``endpoint``, as ``(ip, port)``."""
    if endpoint.is_literal:
        # Nothing to resolve (getaddrinfo would first load Python's IDNA codec); written
        # the way getaddrinfo and recvfrom write addresses.
        return (str(ipaddress.ip_address(endpoint.host)), endpoint.port)
    attempt = 0
    while True:
        try:
            infos = socket.getaddrinfo(
                endpoint.host, endpoint.port, type=socket.SOCK_DGRAM, proto=socket.IPPROTO_UDP
            )
        except socket.gaierror as exc:
            if exc.errno == socket.EAI_AGAIN and attempt < len(pauses):
                log.info("resolving %s failed temporarily; retrying", endpoint.host)
                sleep(pauses[attempt])
                attempt += 1
                continue
            kind = "temporarily (gave up)" if exc.errno == socket.EAI_AGAIN else "permanently"
            raise CageError(
                f"cannot resolve the endpoint {endpoint} of peer {peer.public_key.short()}: "
                f"{exc.strerror} ({kind})",
                hint="check the Endpoint in the profile and the host's DNS",
            ) from None
        family, _type, _proto, _canon, sockaddr = infos[0]
        return (str(sockaddr[0]), int(sockaddr[1]))


def path_mtu(address: tuple[str, int]) -> int | None:
    """The MTU of the host's route towards ``address``, or None without a route."""
    family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
    with socket.socket(family, socket.SOCK_DGRAM) as sock:
        try:
            sock.connect(address)  # connecting a UDP socket sends nothing
            if family == socket.AF_INET6:
                return sock.getsockopt(socket.IPPROTO_IPV6, IPV6_MTU)
            return sock.getsockopt(socket.IPPROTO_IP, IP_MTU)
        except OSError as exc:
            log.warning("no route from this host to the endpoint %s: %s", address[0], exc.strerror)
            return None


def choose_mtu(
    profile_mtu: int | None, endpoints: Sequence[tuple[str, int]], *, ipv6: bool = False
) -> int:
    """The profile's MTU, else the smallest path MTU towards the endpoints minus 80.

    Never below what the cage's addresses need: IPv6 requires 1280 (the kernel refuses an
    IPv6 address on a smaller link), IPv4 576. A smaller path fragments the tunnel's
    datagrams on the host instead, as a profile with that MTU would.
    """
    if profile_mtu:
        return profile_mtu
    mtus = [m for m in (path_mtu(e) for e in endpoints) if m]
    if not mtus:
        return DEFAULT_MTU
    floor = IPV6_MIN_MTU if ipv6 else IPV4_MIN_MTU
    mtu = min(mtus) - WIREGUARD_OVERHEAD
    if mtu < floor:
        log.warning(
            "the path towards the endpoints allows an MTU of only %d; using %d, the least "
            "the cage's addresses need (set MTU in the profile to choose)",
            mtu,
            floor,
        )
        return floor
    return mtu

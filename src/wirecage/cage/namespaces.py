"""Entering the cage's namespaces and setting up its network.

``enter_cage`` moves the calling process (wirecage itself) into new namespaces:

- a user namespace when not root, with the identity map ``uid uid 1`` / ``gid gid 1``: the
  process keeps its uid and, until it executes something, every capability inside the new
  namespaces; the command, executed as that non-zero uid, gets none;
- a network namespace, whose only way out will be the TUN device;
- a mount namespace, for the DNS overlay;
- a PID namespace, which only the next child enters (as its PID 1): when that init exits,
  the kernel kills everything left in the cage.

Sockets opened before (the tunnel's UDP sockets, a future control socket) stay in the host's
network namespace: that is how the tunnel reaches the peers while everything else is caged.
``unshare(CLONE_NEWUSER)`` needs a single-threaded process, so no thread may exist yet.
"""

from __future__ import annotations

import ipaddress
import os
import socket
from collections.abc import Iterable, Sequence
from pathlib import Path

from wirecage.cage import libc
from wirecage.cage.netlink import Rtnetlink
from wirecage.cage.tun import TunDevice

PROC_SYS_NET = Path("/proc/sys/net")


class Identity:
    """Who the command runs as."""

    __slots__ = ("uid", "gid", "name", "home", "shell", "groups")

    def __init__(
        self,
        uid: int,
        gid: int,
        name: str,
        home: str,
        shell: str,
        # Supplementary groups, set only when wirecage runs as real root and drops privileges.
        groups: tuple[int, ...] = (),
    ):
        self.uid = uid
        self.gid = gid
        self.name = name
        self.home = home
        self.shell = shell
        self.groups = groups

    def __repr__(self) -> str:
        return f"Identity(uid={self.uid}, gid={self.gid}, name={self.name!r})"


def enter_cage(*, user_namespace: bool, uid: int, gid: int) -> None:
    """Unshare the cage's namespaces; write the identity maps when rootless.

    Raises OSError with ``filename`` set to the step that failed ("unshare", the map file).
    """
    flags = libc.CLONE_NEWNET | libc.CLONE_NEWNS | libc.CLONE_NEWPID
    if user_namespace:
        flags |= libc.CLONE_NEWUSER
    try:
        libc.unshare(flags)
    except OSError as exc:
        exc.filename = "unshare"
        raise
    if user_namespace:
        # setgroups must be denied before an unprivileged process may write gid_map.
        for name, text in (
            ("setgroups", "deny"),
            ("uid_map", f"{uid} {uid} 1"),
            ("gid_map", f"{gid} {gid} 1"),
        ):
            path = f"/proc/self/{name}"
            try:
                with open(path, "w") as f:
                    f.write(text)
            except OSError as exc:
                exc.filename = path
                raise


def write_sysctl(name: str, value: str) -> None:
    path = Path("/proc/sys") / name.replace(".", "/")
    path.write_text(value)


def has_ipv6() -> bool:
    return (PROC_SYS_NET / "ipv6").is_dir()


def prepare_sysctls(*, ping_gids: tuple[int, int]) -> list[str]:
    """Sysctls of the new network namespace, before the TUN device exists."""
    steps = []
    # Unprivileged ICMP echo sockets, so that ping works for the command without privileges.
    # In a user namespace only mapped groups may be named.
    write_sysctl("net.ipv4.ping_group_range", f"{ping_gids[0]} {ping_gids[1]}")
    steps.append(f"net.ipv4.ping_group_range={ping_gids[0]} {ping_gids[1]}")
    if has_ipv6():
        # No link-local address on new devices: no router solicitations, no MLD, no
        # fe80:: chatter into the tunnel.
        write_sysctl("net.ipv6.conf.default.addr_gen_mode", "1")
        steps.append("net.ipv6.conf.default.addr_gen_mode=1")
    return steps


class NetworkPlan:
    """What the cage's network looks like; ``steps`` records what configure_network did."""

    __slots__ = ("tun_name", "mtu", "addresses", "routes", "steps")

    def __init__(
        self,
        tun_name: str,
        mtu: int,
        addresses: Sequence[ipaddress.IPv4Interface | ipaddress.IPv6Interface],
        routes: Sequence[ipaddress.IPv4Network | ipaddress.IPv6Network],
    ):
        self.tun_name = tun_name
        self.mtu = mtu
        self.addresses = addresses
        self.routes = routes
        self.steps: list[str] = []


def routes_for(allowed_ips: Iterable[ipaddress.IPv4Network | ipaddress.IPv6Network]):
    """One route per distinct AllowedIPs prefix, in a stable order (IPv4 first)."""
    unique = {ipaddress.ip_network(net, strict=False) for net in allowed_ips}
    return sorted(unique, key=lambda n: (n.version, n.network_address, n.prefixlen))


def configure_network(tun_fd: int, plan: NetworkPlan) -> TunDevice:
    """Create the TUN device on ``tun_fd`` and configure lo, the TUN, addresses and routes."""
    tun = TunDevice(tun_fd, plan.tun_name)
    with Rtnetlink() as rtnl:
        rtnl.set_link(socket_if_index("lo"), up=True)
        plan.steps.append("lo up")
        # No multicast on the TUN: the kernel then sends no MLD/IGMP reports into the tunnel.
        rtnl.set_link(tun.index, up=False, mtu=plan.mtu, multicast=False)
        for address in plan.addresses:
            rtnl.add_address(tun.index, address)
            plan.steps.append(f"address {address}")
        rtnl.set_link(tun.index, up=True)
        plan.steps.append(f"{tun.name} up, mtu {plan.mtu}")
        for route in plan.routes:
            rtnl.add_route(tun.index, route)
            plan.steps.append(f"route {route} dev {tun.name}")
    return tun


def socket_if_index(name: str) -> int:
    return socket.if_nametoindex(name)


def close_fds_except(keep: Iterable[int]) -> None:
    """Close every descriptor above 2 except ``keep`` (fast: close_range)."""
    lo = 3
    for fd in sorted(set(k for k in keep if k >= 3)):
        if fd > lo:
            os.closerange(lo, fd)
        lo = fd + 1
    os.closerange(lo, 1 << 20)

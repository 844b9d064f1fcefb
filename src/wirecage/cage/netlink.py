"""Just enough rtnetlink to configure the cage's network: links up, MTU, addresses, routes.

A request is one ``nlmsghdr`` followed by a fixed family header (``ifinfomsg``,
``ifaddrmsg`` or ``rtmsg``) and type-length-value attributes, each padded to 4 bytes. Every
request carries ``NLM_F_ACK``, so the kernel answers each one with an ``NLMSG_ERROR`` whose
error field is 0 on success or a negative errno; we send one request at a time and read its
answer before the next, so a failure is reported for the step that caused it.

The socket belongs to the network namespace it was opened in (not to the one the process is
in later): open it only after entering the cage, or it configures the host.
"""

from __future__ import annotations

import ipaddress
import os
import socket
import struct

from wirecage.cage.libc import errno_name

RTM_NEWLINK = 16
RTM_NEWADDR = 20
RTM_NEWROUTE = 24
NLMSG_ERROR = 2

NLM_F_REQUEST = 0x1
NLM_F_ACK = 0x4
NLM_F_EXCL = 0x200
NLM_F_CREATE = 0x400

IFF_UP = 0x1
IFF_MULTICAST = 0x1000

IFLA_MTU = 4
IFA_ADDRESS = 1
IFA_LOCAL = 2
IFA_FLAGS = 8
# The address needs no duplicate address detection (IPv6: usable at once, and no neighbour
# solicitations sent into the tunnel), and the kernel adds no route for its prefix: the only
# routes in the cage are the ones we add for AllowedIPs.
IFA_F_NODAD = 0x02
IFA_F_NOPREFIXROUTE = 0x200

RTA_DST = 1
RTA_OIF = 4
RT_TABLE_MAIN = 254
RTPROT_STATIC = 4
RT_SCOPE_UNIVERSE = 0
RT_SCOPE_LINK = 253
RTN_UNICAST = 1

_NLMSGHDR = struct.Struct("=IHHII")
_IFINFOMSG = struct.Struct("=BxHiII")
_IFADDRMSG = struct.Struct("=BBBBI")
_RTMSG = struct.Struct("=BBBBBBBBI")
_RTATTR = struct.Struct("=HH")
_ERR = struct.Struct("=i")


class NetlinkError(OSError):
    """The kernel refused a request; ``what`` says which."""

    def __init__(self, err: int, what: str):
        super().__init__(err, f"{what}: {os.strerror(err)} ({errno_name(err)})")
        self.what = what


def _attr(kind: int, payload: bytes) -> bytes:
    length = _RTATTR.size + len(payload)
    return _RTATTR.pack(length, kind) + payload + bytes(-length % 4)


class Rtnetlink:
    """A NETLINK_ROUTE socket of the current network namespace."""

    def __init__(self) -> None:
        self._sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, socket.NETLINK_ROUTE)
        self._sock.bind((0, 0))
        self._seq = 0

    def close(self) -> None:
        self._sock.close()

    def __enter__(self) -> Rtnetlink:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _request(self, msg_type: int, flags: int, body: bytes, what: str) -> None:
        self._seq += 1
        seq = self._seq
        header = _NLMSGHDR.pack(
            _NLMSGHDR.size + len(body), msg_type, NLM_F_REQUEST | NLM_F_ACK | flags, seq, 0
        )
        self._sock.send(header + body)
        while True:
            data = self._sock.recv(65536)
            off = 0
            while off + _NLMSGHDR.size <= len(data):
                length, kind, _flags, rseq, _pid = _NLMSGHDR.unpack_from(data, off)
                if length < _NLMSGHDR.size:
                    raise NetlinkError(0, f"{what}: malformed netlink answer")
                if kind == NLMSG_ERROR and rseq == seq:
                    (error,) = _ERR.unpack_from(data, off + _NLMSGHDR.size)
                    if error:
                        raise NetlinkError(-error, what)
                    return
                off += (length + 3) & ~3

    def set_link(
        self, index: int, *, up: bool = True, mtu: int | None = None, multicast: bool | None = None
    ) -> None:
        """Set a link up or down, and optionally its MTU and multicast flag."""
        flags = IFF_UP if up else 0
        change = IFF_UP
        if multicast is not None:
            change |= IFF_MULTICAST
            flags |= IFF_MULTICAST if multicast else 0
        body = _IFINFOMSG.pack(socket.AF_UNSPEC, 0, index, flags, change)
        if mtu is not None:
            body += _attr(IFLA_MTU, struct.pack("=I", mtu))
        self._request(RTM_NEWLINK, 0, body, f"set link {index} {'up' if up else 'down'}")

    def add_address(
        self, index: int, address: ipaddress.IPv4Interface | ipaddress.IPv6Interface
    ) -> None:
        family = socket.AF_INET if address.version == 4 else socket.AF_INET6
        raw = address.ip.packed
        flags = IFA_F_NODAD | IFA_F_NOPREFIXROUTE
        body = _IFADDRMSG.pack(family, address.network.prefixlen, IFA_F_NODAD, 0, index)
        body += _attr(IFA_LOCAL, raw) + _attr(IFA_ADDRESS, raw)
        body += _attr(IFA_FLAGS, struct.pack("=I", flags))
        self._request(
            RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, body, f"add address {address} to link {index}"
        )

    def add_route(
        self, index: int, destination: ipaddress.IPv4Network | ipaddress.IPv6Network
    ) -> None:
        """Route ``destination`` straight out of link ``index`` (no gateway: a TUN device)."""
        family = socket.AF_INET if destination.version == 4 else socket.AF_INET6
        body = _RTMSG.pack(
            family,
            destination.prefixlen,
            0,
            0,
            RT_TABLE_MAIN,
            RTPROT_STATIC,
            RT_SCOPE_LINK if destination.version == 4 else RT_SCOPE_UNIVERSE,
            RTN_UNICAST,
            0,
        )
        if destination.prefixlen:
            body += _attr(RTA_DST, destination.network_address.packed)
        body += _attr(RTA_OIF, struct.pack("=i", index))
        what = f"add route {destination} via link {index}"
        self._request(RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, body, what)

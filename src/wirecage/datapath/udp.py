"""The tunnel's UDP sockets on the host network: one per address family in use.

They are opened in stage 1, before any namespace exists, and keep the host's network
namespace for their whole life; that is how the tunnel reaches the peers while everything
else is caged. All socket I/O of the datapath happens here, so that batching (``sendmmsg``,
UDP GSO/GRO) can be added without touching the event loop or the cage.
"""

from __future__ import annotations

import errno
import os
import socket
from collections.abc import Iterable

from wirecage.logs import get_logger

log = get_logger("wirecage.datapath")

# Big enough for any datagram; WireGuard's are at most MTU + 32 bytes of overhead.
RECV_SIZE = 65535
# Reads per socket per wake-up, so one busy direction cannot starve the other.
DRAIN_BATCH = 256

Address = tuple[str, int]


def family_of(host: str) -> int:
    return socket.AF_INET6 if ":" in host else socket.AF_INET


class UdpSockets:
    """Non-blocking UDP sockets keyed by address family."""

    def __init__(self, sockets: dict[int, socket.socket]):
        self.sockets = sockets
        self._by_fd = {s.fileno(): s for s in sockets.values()}
        self.send_errors: dict[str, int] = {}
        self.dropped_full = 0

    @classmethod
    def open(cls, families: Iterable[int], listen_port: int | None = None) -> UdpSockets:
        """Open one socket per family, bound to ``listen_port`` (or any free port)."""
        sockets: dict[int, socket.socket] = {}
        try:
            for family in sorted(set(families)):
                sock = socket.socket(family, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
                sockets[family] = sock
                if family == socket.AF_INET6:
                    # Separate sockets per family: no v4-mapped addresses on this one.
                    sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
                sock.bind(("::" if family == socket.AF_INET6 else "0.0.0.0", listen_port or 0))
                sock.setblocking(False)
        except BaseException:
            for sock in sockets.values():
                sock.close()
            raise
        return cls(sockets)

    def fds(self) -> list[int]:
        return [s.fileno() for s in self.sockets.values()]

    def local_ports(self) -> dict[int, int]:
        return {family: s.getsockname()[1] for family, s in self.sockets.items()}

    def send(self, data: bytes, endpoint: Address) -> None:
        sock = self.sockets.get(family_of(endpoint[0]))
        if sock is None:
            self._count_error(errno.EAFNOSUPPORT, endpoint)
            return
        try:
            sock.sendto(data, endpoint)
        except BlockingIOError:
            # The socket buffer is full: drop, as a congested link would.
            self.dropped_full += 1
        except OSError as exc:
            self._count_error(exc.errno or 0, endpoint)

    def _count_error(self, err: int, endpoint: Address) -> None:
        name = errno.errorcode.get(err, str(err))
        count = self.send_errors.get(name, 0)
        self.send_errors[name] = count + 1
        if count == 0:
            log.warning("cannot send to %s: %s (reported once)", _fmt(endpoint), _strerror(err))

    def receive(self, fd: int) -> tuple[bytes, Address] | None:
        """One datagram from the socket ``fd``, or None when none is waiting."""
        recvfrom = self._by_fd[fd].recvfrom
        while True:
            try:
                data, addr = recvfrom(RECV_SIZE)
            except BlockingIOError:
                return None
            except OSError:
                continue  # an ICMP error queued on the socket, now consumed
            return data, (addr[0], addr[1])

    def drain(self, fd: int) -> list[tuple[bytes, Address]]:
        """Read up to DRAIN_BATCH datagrams from the socket ``fd``."""
        recvfrom = self._by_fd[fd].recvfrom
        datagrams = []
        for _ in range(DRAIN_BATCH):
            try:
                data, addr = recvfrom(RECV_SIZE)
            except BlockingIOError:
                break
            except OSError:
                # An ICMP error queued on the socket (e.g. ECONNREFUSED): nothing to read.
                continue
            datagrams.append((data, (addr[0], addr[1])))
        return datagrams

    def close(self) -> None:
        for sock in self.sockets.values():
            sock.close()
        self.sockets.clear()
        self._by_fd.clear()


def _fmt(endpoint: Address) -> str:
    host, port = endpoint
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _strerror(err: int) -> str:
    return os.strerror(err)

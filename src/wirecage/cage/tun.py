"""The cage's TUN device: IP packets in and out of the kernel through one file descriptor.

A TUN device is born in the network namespace that was current when ``/dev/net/tun`` was
*opened* (not when ``TUNSETIFF`` names it), so the cage opens it only after entering its
namespaces; on the host it is opened and closed once, as a check of its permissions.
``IFF_NO_PI`` makes every read and write exactly one IP packet, without a 4-byte header.

The device lives as long as its file descriptor: when wirecage exits or is killed, the
kernel removes it and the cage has no network left (fail closed). The descriptor is
close-on-exec and the cage's init closes it, so the command never holds it.
"""

from __future__ import annotations

import fcntl
import os
import socket
import struct

TUN_PATH = "/dev/net/tun"
TUNSETIFF = 0x400454CA
IFF_TUN = 0x0001
IFF_NO_PI = 0x1000
IFNAMSIZ = 16


def open_tun_device(path: str = TUN_PATH) -> int:
    """Open the TUN clone device (raises OSError: ENOENT, EACCES, ...)."""
    return os.open(path, os.O_RDWR | os.O_CLOEXEC)


class TunDevice:
    """A TUN interface created on an open ``/dev/net/tun`` descriptor."""

    def __init__(self, fd: int, name: str):
        if len(name.encode()) >= IFNAMSIZ:
            raise ValueError(f"interface name {name!r} is longer than {IFNAMSIZ - 1} bytes")
        ifreq = struct.pack(f"{IFNAMSIZ}sH22x", name.encode(), IFF_TUN | IFF_NO_PI)
        answer = fcntl.ioctl(fd, TUNSETIFF, ifreq)
        self.fd = fd
        self.name = answer[:IFNAMSIZ].rstrip(b"\0").decode()
        self.index = socket.if_nametoindex(self.name)
        os.set_blocking(fd, False)

    def fileno(self) -> int:
        return self.fd

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1

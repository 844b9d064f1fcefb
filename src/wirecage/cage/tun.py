"""The cage's TUN device: IP packets in and out of the kernel through one file descriptor.

A TUN device is born in the network namespace that was current when ``/dev/net/tun`` was
*opened* (not when ``TUNSETIFF`` names it), so the cage opens it only after entering its
namespaces; on the host it is opened and closed once, as a check of its permissions.
``IFF_NO_PI`` makes every read and write exactly one IP packet, without a 4-byte header.

The device is made persistent (``TUNSETPERSIST``): closing its descriptor does not remove
it; it goes away with its network namespace, which the kernel destroys once the last
process of the cage is gone. Removing a TUN device on close waits for RCU grace periods,
15 to 30 ms here, in the close itself, that is in the exit of wirecage; destroying the
namespace happens in the kernel's background work instead. The cage is no less closed:
without a reader, whatever the cage sends to the device is dropped, so when wirecage exits
or is killed the cage has no network left (fail closed) for the moment its processes take
to die. (Someone who holds the namespace open, which only the same user can, keeps a dead
device in it until they let go.) The descriptor is close-on-exec and the cage's init closes
it, so the command never holds it.
"""

from __future__ import annotations

import fcntl
import os
import socket
import struct

TUN_PATH = "/dev/net/tun"
TUNSETIFF = 0x400454CA
TUNSETPERSIST = 0x400454CB
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
        # Removed with the network namespace rather than on close (see the module docstring).
        fcntl.ioctl(fd, TUNSETPERSIST, 1)
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

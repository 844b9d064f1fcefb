"""The one typed, immutable model of a profile, whatever file it was read from.

Everything here is already parsed and checked: addresses are ``ipaddress`` objects, keys are
key objects (whose ``repr`` hides the secret), ports are ints. Readers (``conf``, ``toml``)
build these; the cage and the protocol core consume them.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from pathlib import Path

from wirecage.wg.keys import PresharedKey, PrivateKey, PublicKey

IPInterface = ipaddress.IPv4Interface | ipaddress.IPv6Interface
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


@dataclass(frozen=True, slots=True)
class Endpoint:
    """Where a peer is reached: a host (a name, or an IPv4/IPv6 literal) and a UDP port."""

    host: str
    port: int

    @property
    def is_literal(self) -> bool:
        try:
            ipaddress.ip_address(self.host)
        except ValueError:
            return False
        return True

    def __str__(self) -> str:
        if ":" in self.host:
            return f"[{self.host}]:{self.port}"
        return f"{self.host}:{self.port}"


@dataclass(frozen=True, slots=True)
class Peer:
    public_key: PublicKey
    preshared_key: PresharedKey | None = None
    # Where the preshared key was read from, if from a file; written back as a reference.
    preshared_key_file: Path | None = None
    endpoint: Endpoint | None = None
    allowed_ips: tuple[IPNetwork, ...] = ()
    # Seconds; None or 0 means off.
    persistent_keepalive: int | None = None


@dataclass(frozen=True, slots=True)
class Interface:
    private_key: PrivateKey
    # Where the private key was read from, if from a file; written back as a reference.
    private_key_file: Path | None = None
    addresses: tuple[IPInterface, ...] = ()
    dns: tuple[IPAddress, ...] = ()
    dns_search: tuple[str, ...] = ()
    mtu: int | None = None
    listen_port: int | None = None

    @property
    def public_key(self) -> PublicKey:
        return self.private_key.public_key()


@dataclass(frozen=True, slots=True)
class Profile:
    interface: Interface
    peers: tuple[Peer, ...]
    # Where a profile came from is not part of what it is: the same tunnel read from a .conf
    # and from a TOML file compares equal (read -> write -> read gives an equal Profile).
    # The name it is stored under, when it came from the store.
    name: str | None = field(default=None, compare=False)
    # The file it was read from, and its format ("conf" or "toml").
    path: Path | None = field(default=None, compare=False)
    format: str | None = field(default=None, compare=False)
    # Keys that were accepted but have no meaning for a cage (PostUp, Table, ...), by their
    # canonical names, each once.
    ignored: tuple[str, ...] = field(default=(), compare=False)

"""The one typed, immutable model of a profile, whatever file it was read from.

Everything here is already parsed and checked: addresses are ``ipaddress`` objects, keys are
key objects (whose ``repr`` hides the secret), ports are ints. Readers (``conf``, ``toml``)
build these; the cage and the protocol core consume them.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import TYPE_CHECKING

from wirecage.wg.keys import PresharedKey, PrivateKey, PublicKey

if TYPE_CHECKING:
    from typing import Self

IPInterface = ipaddress.IPv4Interface | ipaddress.IPv6Interface
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class _Value:
    """An immutable value compared by its fields, with ``replace`` for a changed copy.

    What ``@dataclass(frozen=True, slots=True)`` would give, written out: generating a
    dataclass costs about half a millisecond at every start of wirecage, and every
    ``wirecage up`` reads a profile (see "Startup" in docs/architecture.md). Each subclass
    lists its fields in ``__slots__``, in the order of its ``__init__`` parameters, which
    have the same names; ``_compared`` names the fields that make two values equal.
    """

    __slots__ = ()
    _compared: tuple[str, ...] = ()

    def _init(self, **fields: object) -> None:
        for name, value in fields.items():
            object.__setattr__(self, name, value)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable; use replace()")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable")

    def _key(self) -> tuple:
        return tuple(getattr(self, name) for name in self._compared)

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return self._key() == other._key()  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        return hash(self._key())

    def _fields(self) -> tuple[str, ...]:
        return type(self).__slots__

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={getattr(self, name)!r}" for name in self._fields())
        return f"{type(self).__name__}({fields})"

    def replace(self, **changes: object) -> Self:
        """A copy with ``changes`` applied (like ``dataclasses.replace``)."""
        fields: dict[str, object] = {name: getattr(self, name) for name in self._fields()}
        unknown = set(changes) - set(fields)
        if unknown:
            raise TypeError(f"{type(self).__name__} has no field {', '.join(sorted(unknown))}")
        fields.update(changes)
        return type(self)(**fields)


class Endpoint(_Value):
    """Where a peer is reached: a host (a name, or an IPv4/IPv6 literal) and a UDP port."""

    __slots__ = ("host", "port")
    _compared = __slots__
    host: str
    port: int

    def __init__(self, host: str, port: int):
        self._init(host=host, port=port)

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


class Peer(_Value):
    __slots__ = (
        "public_key",
        "preshared_key",
        "preshared_key_file",
        "endpoint",
        "allowed_ips",
        "persistent_keepalive",
    )
    _compared = __slots__
    public_key: PublicKey
    preshared_key: PresharedKey | None
    # Where the preshared key was read from, if from a file; written back as a reference.
    preshared_key_file: Path | None
    endpoint: Endpoint | None
    allowed_ips: tuple[IPNetwork, ...]
    # Seconds; None or 0 means off.
    persistent_keepalive: int | None

    def __init__(
        self,
        public_key: PublicKey,
        preshared_key: PresharedKey | None = None,
        preshared_key_file: Path | None = None,
        endpoint: Endpoint | None = None,
        allowed_ips: tuple[IPNetwork, ...] = (),
        persistent_keepalive: int | None = None,
    ):
        self._init(
            public_key=public_key,
            preshared_key=preshared_key,
            preshared_key_file=preshared_key_file,
            endpoint=endpoint,
            allowed_ips=allowed_ips,
            persistent_keepalive=persistent_keepalive,
        )


class Interface(_Value):
    __slots__ = (
        "private_key",
        "private_key_file",
        "addresses",
        "dns",
        "dns_search",
        "mtu",
        "listen_port",
    )
    _compared = __slots__
    private_key: PrivateKey
    # Where the private key was read from, if from a file; written back as a reference.
    private_key_file: Path | None
    addresses: tuple[IPInterface, ...]
    dns: tuple[IPAddress, ...]
    dns_search: tuple[str, ...]
    mtu: int | None
    listen_port: int | None

    def __init__(
        self,
        private_key: PrivateKey,
        private_key_file: Path | None = None,
        addresses: tuple[IPInterface, ...] = (),
        dns: tuple[IPAddress, ...] = (),
        dns_search: tuple[str, ...] = (),
        mtu: int | None = None,
        listen_port: int | None = None,
    ):
        self._init(
            private_key=private_key,
            private_key_file=private_key_file,
            addresses=addresses,
            dns=dns,
            dns_search=dns_search,
            mtu=mtu,
            listen_port=listen_port,
        )

    @property
    def public_key(self) -> PublicKey:
        return self.private_key.public_key()


class Profile(_Value):
    __slots__ = ("interface", "peers", "name", "path", "format", "ignored")
    # Where a profile came from is not part of what it is: the same tunnel read from a .conf
    # and from a TOML file compares equal (read -> write -> read gives an equal Profile).
    _compared = ("interface", "peers")
    interface: Interface
    peers: tuple[Peer, ...]
    # The name it is stored under, when it came from the store.
    name: str | None
    # The file it was read from, and its format ("conf" or "toml").
    path: Path | None
    format: str | None
    # Keys that were accepted but have no meaning for a cage (PostUp, Table, ...), by their
    # canonical names, each once.
    ignored: tuple[str, ...]

    def __init__(
        self,
        interface: Interface,
        peers: tuple[Peer, ...],
        name: str | None = None,
        path: Path | None = None,
        format: str | None = None,
        ignored: tuple[str, ...] = (),
    ):
        self._init(
            interface=interface,
            peers=peers,
            name=name,
            path=path,
            format=format,
            ignored=ignored,
        )

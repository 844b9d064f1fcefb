"""AllowedIPs: the cryptokey routing table (whitepaper section 2).

One table maps address prefixes to peers. Outbound, the longest prefix matching the
destination chooses the peer; inbound, the longest prefix matching the inner source must
belong to the peer whose key decrypted the packet.

Few peers and few distinct prefix lengths are the common case, so instead of a trie the
table keeps, per address family, one dict per prefix length from the prefix (the address
shifted right) to the peer, and tries the lengths from longest to shortest. A lookup is then
a handful of dict probes on an int made straight from the packet's bytes, with no
``ipaddress`` objects on the per-packet path.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from typing import Generic, TypeVar

T = TypeVar("T")

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class _Family(Generic[T]):
    __slots__ = ("bits", "tables", "lengths")

    def __init__(self, bits: int):
        self.bits = bits
        self.tables: dict[int, dict[int, T]] = {}
        self.lengths: list[tuple[int, dict[int, T]]] = []  # (shift, table), longest first

    def reindex(self) -> None:
        self.lengths = [
            (self.bits - length, self.tables[length])
            for length in sorted(self.tables, reverse=True)
            if self.tables[length]
        ]

    def lookup(self, address: int) -> T | None:
        for shift, table in self.lengths:
            value = table.get(address >> shift)
            if value is not None:
                return value
        return None


class AllowedIPs(Generic[T]):
    """Longest-prefix match from IPv4/IPv6 prefixes to values (peers)."""

    def __init__(self) -> None:
        self._v4: _Family[T] = _Family(32)
        self._v6: _Family[T] = _Family(128)

    def _family(self, network: Network) -> _Family[T]:
        return self._v4 if network.version == 4 else self._v6

    def insert(self, network: Network | str, value: T) -> None:
        """Route ``network`` to ``value``; a prefix already present moves to the new value."""
        net = ipaddress.ip_network(network, strict=False)
        family = self._family(net)
        table = family.tables.setdefault(net.prefixlen, {})
        table[int(net.network_address) >> (family.bits - net.prefixlen)] = value
        family.reindex()

    def remove_value(self, value: T) -> None:
        """Forget every prefix that routes to ``value``."""
        for family in (self._v4, self._v6):
            for table in family.tables.values():
                for key in [k for k, v in table.items() if v is value]:
                    del table[key]
            family.reindex()

    def entries(self) -> Iterator[tuple[Network, T]]:
        for family in (self._v4, self._v6):
            cls = ipaddress.IPv4Network if family.bits == 32 else ipaddress.IPv6Network
            for length, table in family.tables.items():
                for prefix, value in table.items():
                    yield cls((prefix << (family.bits - length), length)), value

    def lookup_v4(self, address: bytes) -> T | None:
        return self._v4.lookup(int.from_bytes(address, "big"))

    def lookup_v6(self, address: bytes) -> T | None:
        return self._v6.lookup(int.from_bytes(address, "big"))

    def lookup(self, address: str | ipaddress.IPv4Address | ipaddress.IPv6Address) -> T | None:
        addr = ipaddress.ip_address(address)
        family = self._v4 if addr.version == 4 else self._v6
        return family.lookup(int(addr))

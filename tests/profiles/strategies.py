"""Hypothesis strategies for valid profiles, for the round-trip properties of both formats."""

from __future__ import annotations

import ipaddress
from pathlib import Path

from hypothesis import strategies as st

from wirecage.profiles.model import Endpoint, Interface, Peer, Profile
from wirecage.wg.keys import PresharedKey, PrivateKey, PublicKey

raw_keys = st.binary(min_size=32, max_size=32)
private_keys = raw_keys.map(PrivateKey)
preshared_keys = raw_keys.map(PresharedKey)

_label = st.from_regex(r"[a-z][a-z0-9-]{0,8}[a-z0-9]", fullmatch=True)
hostnames = st.lists(_label, min_size=1, max_size=4).map(".".join)

ipv4 = st.integers(0, 2**32 - 1).map(ipaddress.IPv4Address)
ipv6 = st.integers(0, 2**128 - 1).map(ipaddress.IPv6Address)

endpoints = st.builds(
    Endpoint,
    host=st.one_of(hostnames, ipv4.map(str), ipv6.map(str)),
    port=st.integers(1, 65535),
)

# Key file names, including characters that need quoting in a shell word or a TOML string.
key_file_names = st.text(
    st.characters(codec="utf-8", exclude_characters="/#\x00\n\r", exclude_categories=("Cs",)),
    min_size=1,
    max_size=12,
).filter(lambda s: s not in (".", ".."))


@st.composite
def addresses(draw):
    v4 = draw(
        st.lists(
            st.builds(
                lambda host, prefix: ipaddress.IPv4Interface((0x0A4D0000 | host, prefix)),
                st.integers(0, 0xFFFF),
                st.integers(8, 32),
            ),
            max_size=2,
            unique=True,
        )
    )
    v6 = draw(
        st.lists(
            st.builds(
                lambda host, prefix: ipaddress.IPv6Interface(((0xFD77 << 112) | host, prefix)),
                st.integers(0, 2**64 - 1),
                st.integers(48, 128),
            ),
            max_size=2,
            unique=True,
        )
    )
    result = v4 + v6
    if not result:
        result = [ipaddress.IPv4Interface("10.77.0.2/32")]
    return tuple(draw(st.permutations(result)))


def _networks_in(block: ipaddress.IPv4Network | ipaddress.IPv6Network):
    """Networks inside ``block``: peers drawing from disjoint blocks never overlap."""
    spare = block.max_prefixlen - block.prefixlen
    return st.builds(
        lambda offset, extra: ipaddress.ip_network(
            (int(block.network_address) + (offset << (spare - extra)) % (1 << spare),
             block.prefixlen + extra),
            strict=False,
        ),
        st.integers(0, 2**spare - 1),
        st.integers(0, min(spare, 24)),
    )  # fmt: skip


@st.composite
def peers(draw, count: int):
    public_keys = draw(st.lists(raw_keys, min_size=count, max_size=count, unique=True))
    result = []
    for index, raw in enumerate(public_keys):
        blocks = [
            ipaddress.ip_network(f"10.{index + 1}.0.0/16"),
            ipaddress.ip_network(f"fd77:{index + 1}::/32"),
        ]
        nets = draw(
            st.lists(st.sampled_from(blocks).flatmap(_networks_in), max_size=4, unique=True)
        )
        result.append(
            Peer(
                public_key=PublicKey(raw),
                preshared_key=draw(st.none() | preshared_keys),
                endpoint=draw(st.none() | endpoints),
                allowed_ips=tuple(nets),
                persistent_keepalive=draw(st.none() | st.integers(1, 65535)),
            )
        )
    return tuple(result)


@st.composite
def profiles(draw):
    addrs = draw(addresses())
    has_v6 = any(a.version == 6 for a in addrs)
    mtu = draw(st.none() | st.integers(1280 if has_v6 else 576, 65535))
    interface = Interface(
        private_key=draw(private_keys),
        addresses=addrs,
        dns=tuple(draw(st.lists(ipv4 | ipv6, max_size=3, unique=True))),
        dns_search=tuple(draw(st.lists(hostnames, max_size=2, unique=True))),
        mtu=mtu,
        listen_port=draw(st.none() | st.integers(0, 65535)),
    )
    count = draw(st.integers(1, 4))
    return Profile(interface=interface, peers=draw(peers(count)))


def with_key_files(profile: Profile, directory: Path, names: list[str]) -> Profile:
    """The same profile with its keys moved into files under ``directory`` (mode 0600)."""

    def store(name: str, b64: str) -> Path:
        path = directory / name
        path.write_text(b64 + "\n")
        path.chmod(0o600)
        return path

    iface = profile.interface.replace(
        private_key_file=store("private-" + names[0], profile.interface.private_key.to_base64()),
    )
    new_peers = []
    for index, peer in enumerate(profile.peers):
        if peer.preshared_key is not None:
            name = f"psk{index}-{names[(index + 1) % len(names)]}"
            peer = peer.replace(preshared_key_file=store(name, peer.preshared_key.to_base64()))
        new_peers.append(peer)
    return profile.replace(interface=iface, peers=tuple(new_peers))

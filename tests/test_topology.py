"""The test topology itself: namespaces, veth, and two wireguard-go peers talking."""

from __future__ import annotations

import random
from pathlib import Path

from topology import (
    Netns,
    WgPeerSpec,
    WireguardGo,
    in_netns,
    requires_netns,
    requires_wggo,
    veth_pair,
)
from wirecage.wg.keys import PrivateKey


def _key(rng: random.Random) -> PrivateKey:
    return PrivateKey.generate(rng.randbytes)


@requires_netns
def test_veth_joins_two_namespaces_and_cleanup_removes_them():
    with Netns("a") as a, Netns("b") as b:
        veth_pair(
            a, b, ["198.51.100.1/24", "2001:db8::1/64"], ["198.51.100.2/24", "2001:db8::2/64"]
        )
        a.run(["ping", "-c", "1", "-W", "5", "198.51.100.2"])
        a.run(["ping", "-c", "1", "-W", "5", "2001:db8::2"])
        with in_netns(a):
            # Inside the namespace the host's interfaces are gone: only lo and the veth.
            import socket

            names = {name for _, name in socket.if_nameindex()}
        assert names == {"lo", next(n for n in names if n.startswith("va"))}
        names_a = a.name
    assert not Path(f"/run/netns/{names_a}").exists()


@requires_netns
@requires_wggo
def test_two_wireguard_go_peers_tunnel_between_namespaces():
    rng = random.Random(1)
    ka, kb = _key(rng), _key(rng)
    with Netns("a") as a, Netns("b") as b:
        veth_pair(a, b, ["198.51.100.1/24"], ["198.51.100.2/24"])
        wa = WireguardGo(
            a,
            f"wcta{a.name[-6:]}"[:15],
            ka.to_base64(),
            51820,
            ["10.77.0.1/24"],
            [WgPeerSpec(kb.public_key().to_base64(), ["10.77.0.2/32"])],
        )
        wb = WireguardGo(
            b,
            f"wctb{b.name[-6:]}"[:15],
            kb.to_base64(),
            51821,
            ["10.77.0.2/24"],
            [
                WgPeerSpec(
                    ka.public_key().to_base64(), ["10.77.0.1/32"], endpoint="198.51.100.1:51820"
                )
            ],
        )
        try:
            wa.start()
            wb.start()
            b.run(["ping", "-c", "2", "-W", "5", "10.77.0.1"], timeout=60)
            [peer] = wa.dump()
            assert peer.public_key == kb.public_key().to_base64()
            assert peer.latest_handshake > 0 and peer.rx_bytes > 0
            assert peer.endpoint == "198.51.100.2:51821"
        finally:
            wb.close()
            wa.close()

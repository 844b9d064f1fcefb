"""Our core against the real wireguard-go, each in its own network namespace.

    client namespace                               peer namespace
    pytest: Tunnel + UDP socket 198.51.100.1  ==veth==  198.51.100.2:51820 wireguard-go
            tunnel address 10.77.0.2 (ours)             10.77.0.1/24 on its TUN

The test process opens its UDP socket inside the client namespace and drives our core with
a small select loop (wgdriver.CoreDriver); the kernel of the peer namespace answers pings
and a UDP echo server there answers datagrams, through wireguard-go.
"""

from __future__ import annotations

import itertools
import os
import random
import subprocess
import sys
import time
from dataclasses import dataclass

import pytest
from wgdriver import CoreDriver, udp_socket
from wgpackets import icmp_echo, is_echo_reply, parse_ipv4, udp4

from topology import (
    Netns,
    WgPeerSpec,
    WireguardGo,
    in_netns,
    requires_netns,
    requires_wggo,
    veth_pair,
)
from wirecage.wg.keys import PresharedKey, PrivateKey, PublicKey
from wirecage.wg.tunnel import PeerConfig, Tunnel

pytestmark = [requires_netns, requires_wggo, pytest.mark.root, pytest.mark.wggo]

CLIENT_UNDERLAY = "198.51.100.1"
PEER_UNDERLAY = "198.51.100.2"
PEER_PORT = 51820
CLIENT_PORT = 51999
PEER_TUNNEL = "10.77.0.1"
CLIENT_TUNNEL = "10.77.0.2"
UDP_ECHO_PORT = 7007

_names = itertools.count()

UDP_ECHO_SERVER = f"""
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("{PEER_TUNNEL}", {UDP_ECHO_PORT}))
print("ready", flush=True)
while True:
    data, addr = s.recvfrom(65535)
    s.sendto(b"echo:" + data, addr)
"""


@dataclass
class Setup:
    client: Netns
    peer: Netns
    wg: WireguardGo
    our_key: PrivateKey
    their_key: PrivateKey
    psk: PresharedKey | None

    def driver(
        self,
        *,
        their_public: PublicKey | None = None,
        psk: PresharedKey | None = None,
        use_psk: bool = True,
    ) -> CoreDriver:
        with in_netns(self.client):
            sock = udp_socket((CLIENT_UNDERLAY, CLIENT_PORT))
        peer = PeerConfig(
            their_public or self.their_key.public_key(),
            (psk or self.psk) if use_psk else None,
            endpoint=(PEER_UNDERLAY, PEER_PORT),
            allowed_ips=[PEER_TUNNEL + "/32"],
        )
        return CoreDriver(
            lambda now: Tunnel(
                self.our_key, [peer], now=now, randbytes=os.urandom, wall_time=time.time
            ),
            sock,
        )


@pytest.fixture
def make_setup():
    """A factory: make_setup(psk=False, wg_knows_endpoint=False) -> Setup, cleaned up after."""
    stack: list = []

    def make(*, psk: bool = False, wg_knows_endpoint: bool = False) -> Setup:
        rng = random.Random(1234 + len(stack))
        our_key = PrivateKey.generate(rng.randbytes)
        their_key = PrivateKey.generate(rng.randbytes)
        preshared = PresharedKey.generate(rng.randbytes) if psk else None
        client = Netns("wgc")
        stack.append(client)
        client.__enter__()
        peer = Netns("wgp")
        stack.append(peer)
        peer.__enter__()
        veth_pair(client, peer, [CLIENT_UNDERLAY + "/24"], [PEER_UNDERLAY + "/24"])
        spec = WgPeerSpec(
            our_key.public_key().to_base64(),
            [CLIENT_TUNNEL + "/32"],
            endpoint=f"{CLIENT_UNDERLAY}:{CLIENT_PORT}" if wg_knows_endpoint else None,
            preshared_key=preshared.to_base64() if preshared else None,
        )
        name = f"wcg{os.getpid() % 10000}n{next(_names)}"
        wg = WireguardGo(
            peer, name, their_key.to_base64(), PEER_PORT, [PEER_TUNNEL + "/24"], [spec]
        )
        stack.append(wg)
        wg.start()
        server = peer.popen([sys.executable, "-c", UDP_ECHO_SERVER], stdout=subprocess.PIPE)
        assert server.stdout is not None and server.stdout.readline() == b"ready\n"
        return Setup(client, peer, wg, our_key, their_key, preshared)

    try:
        yield make
    finally:
        for item in reversed(stack):
            item.close()


def ping(driver: CoreDriver, seq: int, timeout: float = 20.0) -> None:
    driver.send(icmp_echo(CLIENT_TUNNEL, PEER_TUNNEL, ident=0x77, seq=seq))
    driver.run_until(
        lambda: any(is_echo_reply(p, PEER_TUNNEL, 0x77, seq) for p in driver.delivered),
        timeout=timeout,
        what=f"echo reply {seq}",
    )


def udp_echo(driver: CoreDriver, payload: bytes) -> None:
    driver.send(udp4(CLIENT_TUNNEL, 40000, PEER_TUNNEL, UDP_ECHO_PORT, payload))

    def got_echo():
        for packet in driver.delivered:
            p = parse_ipv4(packet)
            if p["protocol"] == 17 and p["payload"][8:] == b"echo:" + payload:
                return True
        return False

    driver.run_until(got_echo, what="UDP echo")


def test_we_initiate_ping_and_udp_echo(make_setup):
    setup = make_setup()
    driver = setup.driver()
    ping(driver, 1)
    assert driver.completed == 1
    for seq in range(2, 6):
        ping(driver, seq)
    udp_echo(driver, b"hello through wireguard-go")
    udp_echo(driver, bytes(range(256)) * 5)  # 1280 bytes: padding and a big datagram
    (their_view,) = setup.wg.dump()
    assert their_view.latest_handshake > 0
    assert their_view.endpoint == f"{CLIENT_UNDERLAY}:{CLIENT_PORT}"
    (stats,) = driver.tunnel.peer_stats()
    assert stats.last_handshake is not None and stats.rx_bytes > 0 and stats.tx_bytes > 0
    assert stats.drops == {}

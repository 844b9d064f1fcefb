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
from wirecage.wg.constants import (
    KEEPALIVE_TIMEOUT,
    MAX_TIMER_HANDSHAKES,
    REKEY_AFTER_TIME,
    REKEY_TIMEOUT,
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
            lambda now, wall_time: Tunnel(
                self.our_key, [peer], now=now, randbytes=os.urandom, wall_time=wall_time
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


def test_wireguard_go_initiates_towards_us(make_setup):
    setup = make_setup(wg_knows_endpoint=True)
    driver = setup.driver()
    pinger = setup.peer.popen(
        ["ping", "-c", "3", "-i", "0.2", "-W", "5", CLIENT_TUNNEL],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    driver.run_until(lambda: pinger.poll() is not None, timeout=60, what="ping from the peer")
    output = pinger.stdout.read().decode() if pinger.stdout else ""
    assert pinger.returncode == 0, output
    # We answered as responder: our first datagram was a response, never an initiation.
    assert driver.sent[0][0] == 2
    assert all(d[0] != 1 for d in driver.sent)
    assert driver.completed == 1  # the responder's session was confirmed by their data
    ping(driver, 1)  # and our own traffic uses the session they started


def test_with_preshared_key(make_setup):
    setup = make_setup(psk=True)
    driver = setup.driver()
    ping(driver, 1)
    udp_echo(driver, b"psk")
    assert setup.wg.dump()[0].preshared_key is not None


def test_wrong_preshared_key_gives_no_session_and_a_clear_reason(make_setup):
    setup = make_setup(psk=True)
    driver = setup.driver(psk=PresharedKey.generate(random.Random(99).randbytes))
    driver.send(icmp_echo(CLIENT_TUNNEL, PEER_TUNNEL, ident=0x77, seq=1))
    driver.run_until(
        lambda: "handshake_decrypt_failed" in driver.drop_reasons(),
        what="the response to fail authentication",
    )
    assert driver.completed == 0 and driver.delivered == []


def test_wrong_peer_key_times_out_with_a_reason(make_setup):
    setup = make_setup()
    stranger = PrivateKey.generate(random.Random(98).randbytes).public_key()
    driver = setup.driver(their_public=stranger)
    driver.send(icmp_echo(CLIENT_TUNNEL, PEER_TUNNEL, ident=0x77, seq=1))
    # wireguard-go silently ignores initiations whose mac1 is not for its key; fast-forward
    # our clock through the retransmissions instead of waiting 90 real seconds.
    for _ in range(40):
        driver.run_for(0.05)
        driver.advance_clock(REKEY_TIMEOUT + 1)
        if driver.timed_out:
            break
    assert driver.timed_out == 1
    assert driver.drop_reasons() == ["handshake_gave_up"]
    assert sum(1 for d in driver.sent if d[0] == 1) == MAX_TIMER_HANDSHAKES + 2
    assert driver.completed == 0 and driver.delivered == []
    assert setup.wg.dump()[0].latest_handshake == 0


def test_rekey_initiated_by_us(make_setup):
    setup = make_setup()
    driver = setup.driver()
    ping(driver, 1)
    first_index = driver.sent[-1][4:8]
    # Only our clock jumps: wireguard-go still sees real time and refuses a second initiation
    # within HandshakeInitationRate (20 ms) of the first as a flood. Let that much pass.
    driver.run_for(0.05)
    # The first packet we send once the session is past REKEY_AFTER_TIME (the keepalive due
    # since ping 1's reply, sent as the clock jumps) triggers the rekey.
    driver.advance_clock(REKEY_AFTER_TIME + 1)
    ping(driver, 2)  # the old session still carries traffic meanwhile
    driver.run_until(lambda: driver.completed == 2, what="the rekey handshake")
    ping(driver, 3)
    assert driver.sent[-1][4:8] != first_index  # the new session carries the traffic
    assert driver.drop_reasons() == []
    # wireguard-go took the rekey initiation at once: no retransmission was needed.
    assert sum(1 for d in driver.sent if d[0] == 1) == 2


def test_recovery_after_wireguard_go_restarts(make_setup):
    setup = make_setup()
    driver = setup.driver()
    ping(driver, 1)
    setup.wg.restart()
    # Our session is dead on their side: data goes unanswered until our new_handshake
    # timer (KEEPALIVE_TIMEOUT + REKEY_TIMEOUT after unanswered data) starts a handshake.
    driver.send(icmp_echo(CLIENT_TUNNEL, PEER_TUNNEL, ident=0x77, seq=2))
    driver.run_for(0.3)
    driver.advance_clock(KEEPALIVE_TIMEOUT + REKEY_TIMEOUT + 1)
    driver.run_until(lambda: driver.completed == 2, what="a new handshake after the restart")
    ping(driver, 3)

"""A PeerPair: two Tunnels joined by an in-memory link, driven by a fake clock.

Every datagram one side transmits is handed to the other at once (unless a test's
``link_filter`` drops, repeats or holds it); Deliver, Dropped and the handshake events of
each side are collected per side. ``advance`` moves the clock from deadline to deadline so
the timers run exactly as they would in real time, without sleeping.
"""

from __future__ import annotations

import random
from collections.abc import Callable

from wgpackets import udp4

from wirecage.wg.keys import PresharedKey, PrivateKey
from wirecage.wg.tunnel import (
    Deliver,
    Dropped,
    HandshakeCompleted,
    HandshakeTimedOut,
    PeerConfig,
    Transmit,
    Tunnel,
)

A_ENDPOINT = ("198.51.100.1", 51820)
B_ENDPOINT = ("198.51.100.2", 51821)
A_ADDRESS = "10.77.0.1"
B_ADDRESS = "10.77.0.2"
WALL_EPOCH = 1_700_000_000.0


class Side:
    def __init__(self, name: str, tunnel: Tunnel, endpoint):
        self.name = name
        self.tunnel = tunnel
        self.endpoint = endpoint
        self.delivered: list[bytes] = []
        self.dropped: list[Dropped] = []
        self.completed = 0
        self.timed_out = 0
        self.sent: list[bytes] = []  # every datagram this side transmitted

    def drop_reasons(self) -> list[str]:
        return [d.reason for d in self.dropped]


class PeerPair:
    def __init__(
        self,
        seed: int = 1,
        *,
        psk: bool = False,
        a_keepalive: int | None = None,
        b_keepalive: int | None = None,
        b_knows_a_endpoint: bool = False,
        under_load_threshold: int = 256,
        a_under_load_threshold: int = 256,
        a_mtu: int | None = None,
    ):
        self.now = 1000.0
        rng = random.Random(seed)
        self.a_key = PrivateKey.generate(rng.randbytes)
        self.b_key = PrivateKey.generate(rng.randbytes)
        preshared = PresharedKey.generate(rng.randbytes) if psk else None
        a_rng = random.Random(seed * 1000 + 1)
        b_rng = random.Random(seed * 1000 + 2)
        a_tunnel = Tunnel(
            self.a_key,
            [
                PeerConfig(
                    self.b_key.public_key(),
                    preshared,
                    endpoint=B_ENDPOINT,
                    allowed_ips=[B_ADDRESS + "/32"],
                    persistent_keepalive=a_keepalive,
                )
            ],
            now=self.now,
            randbytes=a_rng.randbytes,
            wall_time=self.wall_time,
            under_load_threshold=a_under_load_threshold,
            mtu=a_mtu,
        )
        b_tunnel = Tunnel(
            self.b_key,
            [
                PeerConfig(
                    self.a_key.public_key(),
                    preshared,
                    endpoint=A_ENDPOINT if b_knows_a_endpoint else None,
                    allowed_ips=[A_ADDRESS + "/32"],
                    persistent_keepalive=b_keepalive,
                )
            ],
            now=self.now,
            randbytes=b_rng.randbytes,
            wall_time=self.wall_time,
            under_load_threshold=under_load_threshold,
        )
        self.a = Side("a", a_tunnel, A_ENDPOINT)
        self.b = Side("b", b_tunnel, B_ENDPOINT)
        # A test may set this: given (sender side, datagram) return the datagrams to put
        # on the wire instead (empty list: lost; two copies: duplicated).
        self.link_filter: Callable[[Side, bytes], list[bytes]] | None = None
        self.wire_log: list[tuple[str, bytes]] = []

    def wall_time(self) -> float:
        return WALL_EPOCH + self.now

    def other(self, side: Side) -> Side:
        return self.b if side is self.a else self.a

    def process(self, side: Side, outputs) -> None:
        """Apply one side's outputs: datagrams cross the link, the rest is recorded."""
        pending = [(side, outputs)]
        while pending:
            origin, outs = pending.pop(0)
            for out in outs:
                if isinstance(out, Transmit):
                    origin.sent.append(out.data)
                    target = self.other(origin)
                    assert out.endpoint == target.endpoint, (origin.name, out.endpoint)
                    datagrams = [out.data]
                    if self.link_filter is not None:
                        datagrams = self.link_filter(origin, out.data)
                    for data in datagrams:
                        self.wire_log.append((origin.name, data))
                        outs = target.tunnel.receive_datagram(data, origin.endpoint, self.now)
                        pending.append((target, outs))
                elif isinstance(out, Deliver):
                    origin.delivered.append(out.packet)
                elif isinstance(out, Dropped):
                    origin.dropped.append(out)
                elif isinstance(out, HandshakeCompleted):
                    origin.completed += 1
                elif isinstance(out, HandshakeTimedOut):
                    origin.timed_out += 1
                else:  # pragma: no cover - a new output type nobody handles
                    raise AssertionError(f"unexpected output {out!r}")

    def inject(self, target: Side, data: bytes, src=None) -> None:
        """Hand ``data`` to ``target`` as if it came from ``src`` (default: the other side)."""
        src = src or self.other(target).endpoint
        self.process(target, target.tunnel.receive_datagram(data, src, self.now))

    def send(self, side: Side, packet: bytes) -> None:
        self.process(side, side.tunnel.send_packet(packet, self.now))

    def send_udp(self, side: Side, data: bytes) -> None:
        src, dst = (A_ADDRESS, B_ADDRESS) if side is self.a else (B_ADDRESS, A_ADDRESS)
        self.send(side, udp4(src, 4000, dst, 5000, data))

    def advance(self, seconds: float) -> None:
        """Let ``seconds`` pass, running every timer at its deadline on the way."""
        target = self.now + seconds
        while True:
            deadlines = [
                d for d in (self.a.tunnel.next_deadline(), self.b.tunnel.next_deadline()) if d
            ]
            due = min(deadlines) if deadlines else None
            if due is None or due > target:
                self.now = target
                return
            self.now = max(self.now, due)
            for side in (self.a, self.b):
                self.process(side, side.tunnel.handle_timer(self.now))

    def handshake(self) -> None:
        self.process(self.a, self.a.tunnel.initiate_handshakes(self.now))

"""Drive a Tunnel over a real UDP socket: the smallest possible event loop, for interop tests.

No TUN on our side: the test builds IP packets itself and reads what the core delivers.
The clock is CLOCK_BOOTTIME plus an offset that a test may push forward to make the core
believe minutes have passed (rekey, retransmissions) while the real peer sees no change.
The wall clock the core reads for TAI64N timestamps moves by the same offset, as it would
if the time had really passed: otherwise an initiation sent right after a jump would carry
the (whitened) timestamp of the last one, and wireguard-go would refuse it as a replay.
"""

from __future__ import annotations

import select
import socket
import struct
import time

from wgpackets import checksum, ipv4, parse_ipv4

from wirecage.wg.tunnel import (
    Deliver,
    Dropped,
    HandshakeCompleted,
    HandshakeTimedOut,
    Transmit,
    Tunnel,
)


class CoreDriver:
    def __init__(self, tunnel_factory, sock: socket.socket, *, answer_pings: bool = True):
        self.offset = 0.0
        self.sock = sock
        self.tunnel: Tunnel = tunnel_factory(self.now(), self.wall_time)
        self.answer_pings = answer_pings
        self.delivered: list[bytes] = []
        self.dropped: list[Dropped] = []
        self.completed = 0
        self.timed_out = 0
        self.sent: list[bytes] = []

    def now(self) -> float:
        return time.clock_gettime(time.CLOCK_BOOTTIME) + self.offset

    def wall_time(self) -> float:
        return time.time() + self.offset

    def drop_reasons(self) -> list[str]:
        return [d.reason for d in self.dropped]

    def apply(self, outputs) -> None:
        for out in outputs:
            if isinstance(out, Transmit):
                self.sock.sendto(out.data, out.endpoint)
                self.sent.append(out.data)
            elif isinstance(out, Deliver):
                self.delivered.append(out.packet)
                if self.answer_pings:
                    self._answer_ping(out.packet)
            elif isinstance(out, Dropped):
                self.dropped.append(out)
            elif isinstance(out, HandshakeCompleted):
                self.completed += 1
            elif isinstance(out, HandshakeTimedOut):
                self.timed_out += 1

    def _answer_ping(self, packet: bytes) -> None:
        if packet[0] >> 4 != 4 or packet[9] != 1:
            return
        p = parse_ipv4(packet)
        icmp = p["payload"]
        if icmp[0] != 8:
            return
        reply = b"\x00\x00\x00\x00" + icmp[4:]
        reply = reply[:2] + struct.pack("!H", checksum(reply)) + reply[4:]
        self.send(ipv4(p["dst"], p["src"], 1, reply))

    def send(self, packet: bytes) -> None:
        self.apply(self.tunnel.send_packet(packet, self.now()))

    def initiate(self) -> None:
        self.apply(self.tunnel.initiate_handshakes(self.now()))

    def advance_clock(self, seconds: float) -> None:
        """Pretend ``seconds`` passed, running the timers that fall due."""
        self.offset += seconds
        self.apply(self.tunnel.handle_timer(self.now()))

    def poll(self, timeout: float) -> None:
        deadline = self.tunnel.next_deadline()
        wait = timeout if deadline is None else max(0.0, min(timeout, deadline - self.now()))
        readable, _, _ = select.select([self.sock], [], [], wait)
        if readable:
            while True:
                try:
                    data, src = self.sock.recvfrom(65535)
                except BlockingIOError:
                    break
                self.apply(self.tunnel.receive_datagram(data, src[:2], self.now()))
        deadline = self.tunnel.next_deadline()
        if deadline is not None and deadline <= self.now():
            self.apply(self.tunnel.handle_timer(self.now()))

    def run_until(self, predicate, timeout: float = 20.0, what: str = "condition"):
        end = time.monotonic() + timeout
        while True:
            value = predicate()
            if value:
                return value
            if time.monotonic() > end:
                raise AssertionError(f"timed out waiting for {what}; drops: {self.drop_reasons()}")
            self.poll(0.05)

    def run_for(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            self.poll(0.05)


def udp_socket(bind: tuple[str, int]) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(bind)
    sock.setblocking(False)
    return sock


__all__ = ["CoreDriver", "udp_socket"]

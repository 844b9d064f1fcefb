"""Tiny IP packet builders for the protocol tests (checksums right, so real stacks answer)."""

from __future__ import annotations

import ipaddress
import struct


def checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def ipv4(src: str, dst: str, protocol: int, payload: bytes, ttl: int = 64) -> bytes:
    header = struct.pack(
        "!BBHHHBBH4s4s",
        0x45,
        0,
        20 + len(payload),
        0x1234,
        0x4000,
        ttl,
        protocol,
        0,
        ipaddress.IPv4Address(src).packed,
        ipaddress.IPv4Address(dst).packed,
    )
    header = header[:10] + struct.pack("!H", checksum(header)) + header[12:]
    return header + payload


def ipv6(src: str, dst: str, next_header: int, payload: bytes) -> bytes:
    return (
        struct.pack("!IHBB", 6 << 28, len(payload), next_header, 64)
        + ipaddress.IPv6Address(src).packed
        + ipaddress.IPv6Address(dst).packed
        + payload
    )


def icmp_echo(src: str, dst: str, ident: int, seq: int, data: bytes = b"wirecage") -> bytes:
    body = struct.pack("!BBHHH", 8, 0, 0, ident, seq) + data
    body = body[:2] + struct.pack("!H", checksum(body)) + body[4:]
    return ipv4(src, dst, 1, body)


def udp4(src: str, sport: int, dst: str, dport: int, data: bytes) -> bytes:
    """An IPv4 UDP packet; checksum 0 (allowed for IPv4)."""
    return ipv4(src, dst, 17, struct.pack("!HHHH", sport, dport, 8 + len(data), 0) + data)


def parse_ipv4(packet: bytes) -> dict:
    ihl = (packet[0] & 15) * 4
    total = struct.unpack("!H", packet[2:4])[0]
    return {
        "src": str(ipaddress.IPv4Address(packet[12:16])),
        "dst": str(ipaddress.IPv4Address(packet[16:20])),
        "protocol": packet[9],
        "payload": packet[ihl:total],
    }


def is_echo_reply(packet: bytes, src: str, ident: int, seq: int) -> bool:
    if len(packet) < 28 or packet[0] >> 4 != 4:
        return False
    p = parse_ipv4(packet)
    if p["protocol"] != 1 or p["src"] != src:
        return False
    kind, _, _, got_ident, got_seq = struct.unpack("!BBHHH", p["payload"][:8])
    return kind == 0 and (got_ident, got_seq) == (ident, seq)

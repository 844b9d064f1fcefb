"""The four WireGuard messages: exact layouts, parsed by type and length before any crypto.

Every message starts with a little-endian 32-bit word whose low byte is the type and whose
other three bytes are zero; a datagram whose first word is not exactly one of the four types,
or whose length is not the exact size for its type, is refused here, so no cryptography runs
on it.

    initiation (148) type sender ephemeral[32] static[32+16] timestamp[12+16] mac1 mac2
    response    (92) type sender receiver ephemeral[32] empty[0+16] mac1 mac2
    cookie      (64) type receiver nonce[24] cookie[16+16]
    transport (>=32) type receiver counter[8] packet[n+16]
"""

from __future__ import annotations

import struct

from .constants import (
    COOKIE_REPLY_SIZE,
    HANDSHAKE_INITIATION_SIZE,
    HANDSHAKE_RESPONSE_SIZE,
    MAC_SIZE,
    MESSAGE_COOKIE_REPLY,
    MESSAGE_HANDSHAKE_INITIATION,
    MESSAGE_HANDSHAKE_RESPONSE,
    MESSAGE_TRANSPORT_DATA,
    TRANSPORT_MIN_SIZE,
)

INITIATION = struct.Struct("<II32s48s28s16s16s")
RESPONSE = struct.Struct("<III32s16s16s16s")
COOKIE_REPLY = struct.Struct("<II24s32s")
TRANSPORT_HEADER = struct.Struct("<IIQ")
MESSAGE_TYPE = struct.Struct("<I")

assert INITIATION.size == HANDSHAKE_INITIATION_SIZE
assert RESPONSE.size == HANDSHAKE_RESPONSE_SIZE
assert COOKIE_REPLY.size == COOKIE_REPLY_SIZE

# Offsets of the two MACs, counted from the end: mac1 covers everything before it, mac2
# everything before mac2 (mac1 included).
MAC1_OFFSET = -2 * MAC_SIZE
MAC2_OFFSET = -MAC_SIZE


# The messages are plain slotted classes, not dataclasses: generating a dataclass costs
# about half a millisecond at every start of wirecage (see "Startup" in docs/architecture.md).


class HandshakeInitiation:
    __slots__ = ("sender", "ephemeral", "encrypted_static", "encrypted_timestamp", "mac1", "mac2")

    def __init__(
        self,
        sender: int,
        ephemeral: bytes,
        encrypted_static: bytes,
        encrypted_timestamp: bytes,
        mac1: bytes = bytes(16),
        mac2: bytes = bytes(16),
    ):
        self.sender = sender
        self.ephemeral = ephemeral
        self.encrypted_static = encrypted_static
        self.encrypted_timestamp = encrypted_timestamp
        self.mac1 = mac1
        self.mac2 = mac2

    def pack(self) -> bytes:
        return INITIATION.pack(
            MESSAGE_HANDSHAKE_INITIATION,
            self.sender,
            self.ephemeral,
            self.encrypted_static,
            self.encrypted_timestamp,
            self.mac1,
            self.mac2,
        )


class HandshakeResponse:
    __slots__ = ("sender", "receiver", "ephemeral", "encrypted_nothing", "mac1", "mac2")

    def __init__(
        self,
        sender: int,
        receiver: int,
        ephemeral: bytes,
        encrypted_nothing: bytes,
        mac1: bytes = bytes(16),
        mac2: bytes = bytes(16),
    ):
        self.sender = sender
        self.receiver = receiver
        self.ephemeral = ephemeral
        self.encrypted_nothing = encrypted_nothing
        self.mac1 = mac1
        self.mac2 = mac2

    def pack(self) -> bytes:
        return RESPONSE.pack(
            MESSAGE_HANDSHAKE_RESPONSE,
            self.sender,
            self.receiver,
            self.ephemeral,
            self.encrypted_nothing,
            self.mac1,
            self.mac2,
        )


class CookieReply:
    __slots__ = ("receiver", "nonce", "encrypted_cookie")

    def __init__(self, receiver: int, nonce: bytes, encrypted_cookie: bytes):
        self.receiver = receiver
        self.nonce = nonce
        self.encrypted_cookie = encrypted_cookie

    def pack(self) -> bytes:
        return COOKIE_REPLY.pack(
            MESSAGE_COOKIE_REPLY, self.receiver, self.nonce, self.encrypted_cookie
        )


class TransportData:
    __slots__ = ("receiver", "counter", "encrypted_packet")

    def __init__(self, receiver: int, counter: int, encrypted_packet: bytes):
        self.receiver = receiver
        self.counter = counter
        self.encrypted_packet = encrypted_packet

    def pack(self) -> bytes:
        return TRANSPORT_HEADER.pack(MESSAGE_TRANSPORT_DATA, self.receiver, self.counter) + (
            self.encrypted_packet
        )


Message = HandshakeInitiation | HandshakeResponse | CookieReply | TransportData


def message_type(data: bytes) -> int | None:
    """The type of a datagram if its first word and its length fit one; else None.

    This is the whole validation a datagram gets before the cryptography that belongs to its
    type: the three reserved bytes must be zero and the size must be exact.
    """
    n = len(data)
    if n < 4:
        return None
    (kind,) = MESSAGE_TYPE.unpack_from(data)
    if kind == MESSAGE_TRANSPORT_DATA:
        return kind if n >= TRANSPORT_MIN_SIZE else None
    if kind == MESSAGE_HANDSHAKE_INITIATION:
        return kind if n == HANDSHAKE_INITIATION_SIZE else None
    if kind == MESSAGE_HANDSHAKE_RESPONSE:
        return kind if n == HANDSHAKE_RESPONSE_SIZE else None
    if kind == MESSAGE_COOKIE_REPLY:
        return kind if n == COOKIE_REPLY_SIZE else None
    return None


def parse(data: bytes) -> Message | None:
    """Parse a datagram into its message, or None if its type or length is wrong."""
    kind = message_type(data)
    if kind == MESSAGE_HANDSHAKE_INITIATION:
        _, sender, ephemeral, static, timestamp, mac1, mac2 = INITIATION.unpack(data)
        return HandshakeInitiation(sender, ephemeral, static, timestamp, mac1, mac2)
    if kind == MESSAGE_HANDSHAKE_RESPONSE:
        _, sender, receiver, ephemeral, nothing, mac1, mac2 = RESPONSE.unpack(data)
        return HandshakeResponse(sender, receiver, ephemeral, nothing, mac1, mac2)
    if kind == MESSAGE_COOKIE_REPLY:
        _, receiver, nonce, cookie = COOKIE_REPLY.unpack(data)
        return CookieReply(receiver, nonce, cookie)
    if kind == MESSAGE_TRANSPORT_DATA:
        _, receiver, counter = TRANSPORT_HEADER.unpack_from(data)
        return TransportData(receiver, counter, bytes(data[TRANSPORT_HEADER.size :]))
    return None

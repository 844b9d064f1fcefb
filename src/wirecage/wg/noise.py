"""Noise_IKpsk2 as WireGuard uses it (whitepaper 5.4.2 to 5.4.5), both roles, no I/O.

Theory of operation. The initiator knows the responder's static public key S_r^pub
beforehand; the responder learns the initiator's from the first message. Each side keeps a
chaining key C (the running key material) and a hash H (a transcript of everything sent),
both seeded from the protocol name and the responder's static key:

    C = HASH(CONSTRUCTION);  H = HASH(HASH(C || IDENTIFIER) || S_r^pub)

Initiation (148 bytes), built by the initiator and replayed step by step by the responder:

    C = KDF1(C, E_i^pub);            H = HASH(H || E_i^pub)
    (C, k) = KDF2(C, DH(E_i, S_r));  static = AEAD(k, 0, S_i^pub, H);     H = HASH(H || static)
    (C, k) = KDF2(C, DH(S_i, S_r));  timestamp = AEAD(k, 0, TAI64N(), H); H = HASH(H || timestamp)

Response (92 bytes):

    C = KDF1(C, E_r^pub);               H = HASH(H || E_r^pub)
    C = KDF1(C, DH(E_r, E_i));          C = KDF1(C, DH(E_r, S_i))
    (C, tau, k) = KDF3(C, Q);           H = HASH(H || tau)        (Q: the preshared key or zeros)
    empty = AEAD(k, 0, "", H);          H = HASH(H || empty)

Both sides then split C into the transport keys: (T_send^i, T_recv^i) = KDF2(C, "") and
the responder uses them the other way round. Every DH whose result is all zeros (a
low-order point) aborts the handshake, as does any AEAD that fails to authenticate.

This module only computes. Which peer a static key belongs to, whether a timestamp is
newer than the last one, and the indices and cookies (mac1/mac2) are the Tunnel's business.
"""

from __future__ import annotations

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from .constants import CONSTRUCTION, IDENTIFIER
from .messages import HandshakeInitiation, HandshakeResponse
from .primitives import (
    InvalidTag,
    aead_decrypt,
    aead_encrypt,
    dh,
    dh_public,
    hash_,
    kdf1,
    kdf2,
    kdf3,
)

INITIAL_CHAINING_KEY = hash_(CONSTRUCTION)
INITIAL_HASH = hash_(INITIAL_CHAINING_KEY, IDENTIFIER)
ZERO_PSK = bytes(32)


class LocalStatic:
    """Our static key pair: the private scalar and its public key."""

    __slots__ = ("private", "public")

    def __init__(self, private: X25519PrivateKey):
        self.private = private
        self.public = dh_public(private)


class RemoteStatic:
    """What the handshake needs to know about a peer: its static key, the preshared key Q,
    and DH(S_i, S_r), which never changes and wireguard-go precomputes too."""

    __slots__ = ("public", "preshared_key", "static_static", "initial_hash")

    def __init__(self, local: LocalStatic, public: bytes, preshared_key: bytes | None):
        self.public = public
        self.preshared_key = preshared_key if preshared_key is not None else ZERO_PSK
        # None for a low-order peer key: no handshake with that peer can ever succeed.
        self.static_static = dh(local.private, public)
        self.initial_hash = hash_(INITIAL_HASH, public)


# Plain slotted classes, not dataclasses: startup cost (see "Startup" in
# docs/architecture.md).


class InitiationSent:
    """The initiator's state between its initiation and the response."""

    __slots__ = ("sender", "ephemeral", "chaining_key", "hash")

    def __init__(self, sender: int, ephemeral: X25519PrivateKey, chaining_key: bytes, hash: bytes):
        self.sender = sender
        self.ephemeral = ephemeral
        self.chaining_key = chaining_key
        self.hash = hash


class InitiationConsumed:
    """What a responder learnt from a valid initiation: who sent it and when."""

    __slots__ = (
        "remote_static",
        "remote_index",
        "remote_ephemeral",
        "timestamp",
        "chaining_key",
        "hash",
    )

    def __init__(
        self,
        remote_static: bytes,
        remote_index: int,
        remote_ephemeral: bytes,
        timestamp: bytes,
        chaining_key: bytes,
        hash: bytes,
    ):
        self.remote_static = remote_static
        self.remote_index = remote_index
        self.remote_ephemeral = remote_ephemeral
        self.timestamp = timestamp
        self.chaining_key = chaining_key
        self.hash = hash


class SessionKeys:
    """The result of a completed handshake, from our side."""

    __slots__ = ("local_index", "remote_index", "send_key", "receive_key", "is_initiator")

    def __init__(
        self,
        local_index: int,
        remote_index: int,
        send_key: bytes,
        receive_key: bytes,
        is_initiator: bool,
    ):
        self.local_index = local_index
        self.remote_index = remote_index
        self.send_key = send_key
        self.receive_key = receive_key
        self.is_initiator = is_initiator


def create_initiation(
    local: LocalStatic,
    remote: RemoteStatic,
    sender: int,
    ephemeral: X25519PrivateKey,
    timestamp: bytes,
) -> tuple[HandshakeInitiation, InitiationSent] | None:
    """Build an initiation (mac1/mac2 zero: the cookie layer adds them). None if a DH fails."""
    if remote.static_static is None:
        return None
    c = INITIAL_CHAINING_KEY
    h = remote.initial_hash
    e_pub = dh_public(ephemeral)
    c = kdf1(c, e_pub)
    h = hash_(h, e_pub)
    shared = dh(ephemeral, remote.public)
    if shared is None:
        return None
    c, k = kdf2(c, shared)
    encrypted_static = aead_encrypt(k, 0, local.public, h)
    h = hash_(h, encrypted_static)
    c, k = kdf2(c, remote.static_static)
    encrypted_timestamp = aead_encrypt(k, 0, timestamp, h)
    h = hash_(h, encrypted_timestamp)
    message = HandshakeInitiation(sender, e_pub, encrypted_static, encrypted_timestamp)
    return message, InitiationSent(sender, ephemeral, c, h)


def consume_initiation(
    local: LocalStatic,
    local_initial_hash: bytes,
    message: HandshakeInitiation,
    lookup: dict[bytes, RemoteStatic],
) -> tuple[InitiationConsumed, RemoteStatic] | str:
    """Replay the initiator's steps; the consumed state and the peer, or a drop reason."""
    c = INITIAL_CHAINING_KEY
    h = local_initial_hash
    c = kdf1(c, message.ephemeral)
    h = hash_(h, message.ephemeral)
    shared = dh(local.private, message.ephemeral)
    if shared is None:
        return "handshake_bad_ephemeral"
    c, k = kdf2(c, shared)
    try:
        remote_static = aead_decrypt(k, 0, message.encrypted_static, h)
    except InvalidTag:
        return "handshake_decrypt_failed"
    h = hash_(h, message.encrypted_static)
    remote = lookup.get(remote_static)
    if remote is None:
        return "unknown_peer"
    if remote.static_static is None:
        return "handshake_bad_static"
    c, k = kdf2(c, remote.static_static)
    try:
        timestamp = aead_decrypt(k, 0, message.encrypted_timestamp, h)
    except InvalidTag:
        return "handshake_decrypt_failed"
    h = hash_(h, message.encrypted_timestamp)
    consumed = InitiationConsumed(remote_static, message.sender, message.ephemeral, timestamp, c, h)
    return consumed, remote


def create_response(
    consumed: InitiationConsumed,
    remote: RemoteStatic,
    sender: int,
    ephemeral: X25519PrivateKey,
) -> tuple[HandshakeResponse, SessionKeys] | None:
    """Answer a consumed initiation and derive the session. None if a DH fails."""
    c, h = consumed.chaining_key, consumed.hash
    e_pub = dh_public(ephemeral)
    c = kdf1(c, e_pub)
    h = hash_(h, e_pub)
    ee = dh(ephemeral, consumed.remote_ephemeral)
    es = dh(ephemeral, consumed.remote_static)
    if ee is None or es is None:
        return None
    c = kdf1(c, ee)
    c = kdf1(c, es)
    c, tau, k = kdf3(c, remote.preshared_key)
    h = hash_(h, tau)
    encrypted_nothing = aead_encrypt(k, 0, b"", h)
    # The final H is not needed any more: nothing is sent after the response.
    receive_key, send_key = kdf2(c, b"")
    message = HandshakeResponse(sender, consumed.remote_index, e_pub, encrypted_nothing)
    return message, SessionKeys(sender, consumed.remote_index, send_key, receive_key, False)


def consume_response(
    local: LocalStatic,
    state: InitiationSent,
    remote: RemoteStatic,
    message: HandshakeResponse,
) -> SessionKeys | str:
    """Finish the handshake as initiator; the session keys, or a drop reason."""
    c, h = state.chaining_key, state.hash
    c = kdf1(c, message.ephemeral)
    h = hash_(h, message.ephemeral)
    ee = dh(state.ephemeral, message.ephemeral)
    se = dh(local.private, message.ephemeral)
    if ee is None or se is None:
        return "handshake_bad_ephemeral"
    c = kdf1(c, ee)
    c = kdf1(c, se)
    c, tau, k = kdf3(c, remote.preshared_key)
    h = hash_(h, tau)
    try:
        aead_decrypt(k, 0, message.encrypted_nothing, h)
    except InvalidTag:
        return "handshake_decrypt_failed"
    send_key, receive_key = kdf2(c, b"")
    return SessionKeys(state.sender, message.sender, send_key, receive_key, True)

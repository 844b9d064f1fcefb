"""A transport session: the keys of one completed handshake, and their counters.

wireguard-go keeps three per peer, and so do we (``Peer.current``, ``previous``, ``next``):

- ``current`` encrypts everything we send;
- ``previous`` still decrypts packets the peer sent before it switched to the new session;
- ``next`` is a responder's new session, not used for sending until the initiator proves it
  has it too by sending a first packet with it ("key confirmation", whitepaper 5.4.6); only
  then does it become ``current``.

Each keypair holds its ChaCha20Poly1305 objects for its whole life: building one costs as
much as encrypting a full packet.
"""

from __future__ import annotations

from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

from .replay import ReplayWindow


class Keypair:
    __slots__ = (
        "peer",
        "local_index",
        "remote_index",
        "is_initiator",
        "created",
        "send_aead",
        "receive_aead",
        "send_counter",
        "replay",
    )

    def __init__(
        self,
        peer,
        local_index: int,
        remote_index: int,
        send_key: bytes,
        receive_key: bytes,
        is_initiator: bool,
        created: float,
    ):
        self.peer = peer
        self.local_index = local_index
        self.remote_index = remote_index
        self.is_initiator = is_initiator
        self.created = created
        self.send_aead = ChaCha20Poly1305(send_key)
        self.receive_aead = ChaCha20Poly1305(receive_key)
        self.send_counter = 0
        self.replay = ReplayWindow()

    def __repr__(self) -> str:
        role = "initiator" if self.is_initiator else "responder"
        return f"Keypair(local={self.local_index:#010x}, {role}, sent={self.send_counter})"

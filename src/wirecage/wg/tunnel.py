"""The sans-IO WireGuard device: peers, sessions, timers and routing behind four calls.

Theory of operation. A ``Tunnel`` is fed three kinds of input and answers each with a list
of outputs; it never touches a socket, a clock or the OS random source:

    send_packet(ip_packet, now)          an IP packet from the TUN device
    receive_datagram(data, src, now)     a UDP datagram from the network
    handle_timer(now)                    time has reached next_deadline()

    Transmit(data, endpoint)  Deliver(packet)  Dropped(reason, peer)
    HandshakeCompleted(peer)  HandshakeTimedOut(peer)

Outbound, the destination address chooses the peer by AllowedIPs (longest prefix). With a
current session the packet is padded, sealed and transmitted at once; without one it waits
in the peer's staged queue (bounded, oldest dropped) and a handshake starts. Inbound,
datagrams are told apart by type and exact length (``messages``), handshake messages pass
the cookie layer (``cookie``) and then Noise (``noise``), transport messages go to the
keypair their receiver index names, through the replay window and the AEAD, and come out
only if their inner source address is one the peer may use.

Sessions and timers follow wireguard-go's device package, with deadlines instead of
``time.AfterFunc``. Each peer has five timers, each a deadline or None; ``next_deadline``
is the earliest of them all, and ``handle_timer`` runs those that are due:

    retransmit_handshake  REKEY_TIMEOUT + jitter after an initiation; again for
                          MAX_TIMER_HANDSHAKES + 1 retries, then give up and drop the queue;
                          also when the rate limit defers an initiation (a DEVIATION)
    send_keepalive        KEEPALIVE_TIMEOUT after data arrived if we sent nothing back
    new_handshake         KEEPALIVE_TIMEOUT + REKEY_TIMEOUT after we sent data if nothing
                          came back: the session is probably dead, start a new one
    zero_key_material     3 × REJECT_AFTER_TIME after a session was derived: forget keys
    persistent_keepalive  the configured interval after any authenticated packet

and these events move them (the names of wireguard-go's timers.go): data sent, data
received, any authenticated packet sent / received / traversing, handshake initiated,
handshake complete, session derived.

Time is a float of seconds on a monotonic clock that keeps counting through suspend;
``wall_time()`` is read only for the TAI64N timestamp of an initiation and for
``last_handshake`` in the statistics.
"""

from __future__ import annotations

import ipaddress
import struct
from collections import deque
from collections.abc import Callable, Iterable, Sequence

from .allowedips import AllowedIPs
from .constants import (
    HANDSHAKE_INITIATION_RATE,
    KEEPALIVE_TIMEOUT,
    MAX_STAGED_PACKETS,
    MAX_TIMER_HANDSHAKES,
    MESSAGE_COOKIE_REPLY,
    MESSAGE_HANDSHAKE_INITIATION,
    MESSAGE_TRANSPORT_DATA,
    REJECT_AFTER_MESSAGES,
    REJECT_AFTER_TIME,
    REKEY_AFTER_MESSAGES,
    REKEY_AFTER_TIME,
    REKEY_ON_RECEIVE_AGE,
    REKEY_TIMEOUT,
    REKEY_TIMEOUT_JITTER_MAX,
    TRANSPORT_HEADER_SIZE,
    TRANSPORT_MIN_SIZE,
    UNDER_LOAD_HANDSHAKES_PER_SECOND,
)
from .cookie import CookieChecker, CookieGenerator, LoadMonitor, RateLimiter
from .keypair import Keypair
from .keys import PresharedKey, PrivateKey, PublicKey
from .messages import (
    COOKIE_REPLY,
    INITIATION,
    RESPONSE,
    TRANSPORT_HEADER,
    CookieReply,
    HandshakeInitiation,
    HandshakeResponse,
    message_type,
)
from .noise import (
    InitiationSent,
    LocalStatic,
    RemoteStatic,
    consume_initiation,
    consume_response,
    create_initiation,
    create_response,
)
from .primitives import AEAD_NONCE, InvalidTag, dh_generate
from .tai64n import tai64n

__all__ = [
    "Deliver",
    "Dropped",
    "HandshakeCompleted",
    "HandshakeTimedOut",
    "Output",
    "PeerConfig",
    "PeerStats",
    "Transmit",
    "Tunnel",
]

Endpoint = tuple  # (ip: str, port: int), as socket.recvfrom gives it

_nonce = AEAD_NONCE.pack
_header = TRANSPORT_HEADER.pack
_header_unpack = TRANSPORT_HEADER.unpack_from
_ZEROS = [bytes(n) for n in range(16)]
_IPV4_TOTAL_LENGTH = struct.Struct(">H")
_INF = float("inf")


# -- outputs -------------------------------------------------------------------------------


class Transmit:
    """Send ``data`` as one UDP datagram to ``endpoint`` (ip, port)."""

    __slots__ = ("data", "endpoint")

    def __init__(self, data: bytes, endpoint: Endpoint):
        self.data = data
        self.endpoint = endpoint

    def __eq__(self, other: object) -> bool:
        return (
            type(other) is Transmit and other.data == self.data and other.endpoint == self.endpoint
        )

    def __repr__(self) -> str:
        return f"Transmit({len(self.data)} bytes to {self.endpoint})"


class Deliver:
    """Write ``packet`` (an IP packet) to the TUN device."""

    __slots__ = ("packet",)

    def __init__(self, packet: bytes):
        self.packet = packet

    def __eq__(self, other: object) -> bool:
        return type(other) is Deliver and other.packet == self.packet

    def __repr__(self) -> str:
        return f"Deliver({len(self.packet)} bytes)"


class _PeerEvent:
    __slots__ = ("peer",)

    def __init__(self, peer: PublicKey | None):
        self.peer = peer

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and other.peer == self.peer  # type: ignore[attr-defined]

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.peer!r})"


class Dropped(_PeerEvent):
    """Something was refused. ``reason`` is a short stable string; ``peer`` may be None.

    Reasons: invalid_packet, no_route, no_endpoint, queue_full, handshake_gave_up,
    keys_zeroed, invalid_message, bad_mac1, cookie_sent, rate_limited, bad_cookie_reply,
    unknown_index, unknown_peer, handshake_decrypt_failed, handshake_bad_ephemeral,
    handshake_bad_static, handshake_replay, handshake_flood, handshake_dh_failed,
    session_expired, replay, decrypt_failed, invalid_inner_packet, disallowed_source.
    """

    __slots__ = ("reason",)

    def __init__(self, reason: str, peer: PublicKey | None):
        super().__init__(peer)
        self.reason = reason

    def __eq__(self, other: object) -> bool:
        return type(other) is Dropped and (other.reason, other.peer) == (self.reason, self.peer)

    def __repr__(self) -> str:
        return f"Dropped({self.reason!r}, {self.peer!r})"


class HandshakeCompleted(_PeerEvent):
    """A session with ``peer`` is ready (initiator: response received; responder: the
    initiator's first packet on the new session confirmed it)."""

    __slots__ = ()


class HandshakeTimedOut(_PeerEvent):
    """No handshake with ``peer`` completed within REKEY_ATTEMPT_TIME; its queue is dropped."""

    __slots__ = ()


Output = Transmit | Deliver | Dropped | HandshakeCompleted | HandshakeTimedOut


# -- configuration and statistics ------------------------------------------------------------


# Plain slotted classes, not dataclasses: startup cost (see "Startup" in
# docs/architecture.md).


class PeerConfig:
    """One [Peer]: its key, optional preshared key, endpoint, AllowedIPs and keepalive."""

    __slots__ = ("public_key", "preshared_key", "endpoint", "allowed_ips", "persistent_keepalive")

    def __init__(
        self,
        public_key: PublicKey,
        preshared_key: PresharedKey | None = None,
        endpoint: Endpoint | None = None,
        allowed_ips: Sequence[ipaddress.IPv4Network | ipaddress.IPv6Network | str] = (),
        persistent_keepalive: int | None = None,
    ):
        self.public_key = public_key
        self.preshared_key = preshared_key
        self.endpoint = endpoint
        self.allowed_ips = allowed_ips
        self.persistent_keepalive = persistent_keepalive

    def __repr__(self) -> str:
        return f"PeerConfig({self.public_key!r}, endpoint={self.endpoint!r})"


class PeerStats:
    """What ``peer_stats()`` reports about one peer (bytes as ``wg show`` counts them)."""

    __slots__ = (
        "public_key",
        "endpoint",
        "last_handshake",
        "rx_bytes",
        "tx_bytes",
        "drops",
        "queued_packets",
        "persistent_keepalive",
        "allowed_ips",
    )

    def __init__(
        self,
        public_key: PublicKey,
        endpoint: Endpoint | None,
        last_handshake: float | None,  # wall time of the last completed handshake
        rx_bytes: int,
        tx_bytes: int,
        drops: dict[str, int] | None = None,
        queued_packets: int = 0,
        persistent_keepalive: int | None = None,
        allowed_ips: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = (),
    ):
        self.public_key = public_key
        self.endpoint = endpoint
        self.last_handshake = last_handshake
        self.rx_bytes = rx_bytes
        self.tx_bytes = tx_bytes
        self.drops = drops if drops is not None else {}
        self.queued_packets = queued_packets
        self.persistent_keepalive = persistent_keepalive
        self.allowed_ips = allowed_ips

    def __repr__(self) -> str:
        return (
            f"PeerStats({self.public_key!r}, endpoint={self.endpoint!r}, "
            f"rx_bytes={self.rx_bytes}, tx_bytes={self.tx_bytes}, drops={self.drops!r})"
        )


# -- the peer --------------------------------------------------------------------------------


class Peer:
    """Everything the Tunnel knows about one peer. Internal: callers see PeerStats."""

    def __init__(self, local: LocalStatic, config: PeerConfig):
        self.public_key = config.public_key
        psk = config.preshared_key.raw if config.preshared_key is not None else None
        self.remote = RemoteStatic(local, config.public_key.raw, psk)
        self.cookies = CookieGenerator(config.public_key.raw)
        self.endpoint: Endpoint | None = (
            tuple(config.endpoint) if config.endpoint is not None else None
        )
        self.persistent_keepalive = config.persistent_keepalive or 0
        self.allowed_ips = tuple(
            ipaddress.ip_network(net, strict=False) for net in config.allowed_ips
        )

        # Handshake state: our outstanding initiation, and what protects us as responder.
        self.handshake: InitiationSent | None = None
        self.last_sent_handshake = -_INF
        self.handshake_attempts = 0
        self.last_timestamp = bytes(12)
        self.last_initiation_consumed = -_INF

        # Sessions (see keypair.py).
        self.current: Keypair | None = None
        self.previous: Keypair | None = None
        self.next: Keypair | None = None

        self.staged: deque[bytes] = deque()

        # Timers: deadlines on the caller's clock, or None when not pending.
        self.retransmit_handshake: float | None = None
        self.send_keepalive: float | None = None
        self.new_handshake: float | None = None
        self.zero_key_material: float | None = None
        self.persistent_keepalive_at: float | None = None
        self.need_another_keepalive = False
        self.sent_last_minute_handshake = False

        # Statistics.
        self.rx_bytes = 0
        self.tx_bytes = 0
        self.last_handshake_wall: float | None = None
        self.drops: dict[str, int] = {}

    def earliest_deadline(self) -> float | None:
        deadlines = [
            t
            for t in (
                self.retransmit_handshake,
                self.send_keepalive,
                self.new_handshake,
                self.zero_key_material,
                self.persistent_keepalive_at,
            )
            if t is not None
        ]
        return min(deadlines) if deadlines else None

    def __repr__(self) -> str:
        return f"Peer({self.public_key.short()})"


# -- the tunnel ------------------------------------------------------------------------------


class Tunnel:
    """A WireGuard interface without I/O. See the module docstring."""

    def __init__(
        self,
        private_key: PrivateKey,
        peers: Iterable[PeerConfig],
        *,
        now: float,
        randbytes: Callable[[int], bytes],
        wall_time: Callable[[], float],
        mtu: int | None = None,
        under_load_threshold: int = UNDER_LOAD_HANDSHAKES_PER_SECOND,
    ):
        if not isinstance(private_key, PrivateKey):
            raise TypeError("private_key must be a wirecage.wg.keys.PrivateKey")
        self._randbytes = randbytes
        # Random bytes for timer jitter, drawn 64 at a time: a data packet sent after one
        # was received sets a jittered timer, and one draw (a system call with os.urandom)
        # per such packet would sit on the path of every ping.
        self._jitter_pool = b""
        self._wall_time = wall_time
        self._mtu = mtu or None  # 0 means no MTU, as in wireguard-go: pad to 16 always
        self.local = LocalStatic(private_key.x25519())
        self.public_key = private_key.public_key()
        self._local_initial_hash = RemoteStatic(self.local, self.local.public, None).initial_hash
        self._cookie_checker = CookieChecker(self.local.public)
        self._load = LoadMonitor(under_load_threshold)
        self._rate_limiter = RateLimiter()
        self._created = now

        self._peers: dict[bytes, Peer] = {}
        self._remotes: dict[bytes, RemoteStatic] = {}
        self._routes: AllowedIPs[Peer] = AllowedIPs()
        # Local indices: sessions by index for transport data, handshakes for responses
        # and cookie replies. One index space across both, as in wireguard-go.
        self._keypairs: dict[int, Keypair] = {}
        self._handshakes: dict[int, Peer] = {}
        self.drops: dict[str, int] = {}  # drops that belong to no peer
        for config in peers:
            self.add_peer(config)

    # -- configuration ---------------------------------------------------------------------

    def add_peer(self, config: PeerConfig) -> None:
        """Add a peer; raises ValueError if it is already there or is our own key."""
        if not isinstance(config.public_key, PublicKey):
            raise TypeError("PeerConfig.public_key must be a wirecage.wg.keys.PublicKey")
        raw = config.public_key.raw
        if raw in self._peers:
            raise ValueError(f"peer {config.public_key.short()} is configured twice")
        if raw == self.local.public:
            raise ValueError("a peer cannot have our own public key")
        peer = Peer(self.local, config)
        self._peers[raw] = peer
        self._remotes[raw] = peer.remote
        for network in peer.allowed_ips:
            self._routes.insert(network, peer)

    def remove_peer(self, public_key: PublicKey) -> None:
        peer = self._peer(public_key)
        self._zero_keys(peer)
        self._routes.remove_value(peer)
        del self._peers[public_key.raw]
        del self._remotes[public_key.raw]

    def set_endpoint(self, public_key: PublicKey, endpoint: Endpoint | None) -> None:
        """Change a peer's endpoint (e.g. its name resolved again); roaming may change it
        again when an authenticated packet arrives from elsewhere."""
        self._peer(public_key).endpoint = tuple(endpoint) if endpoint is not None else None

    def queued_packets(self, public_key: PublicKey | None = None) -> int:
        """Packets waiting for a session, for one peer or all."""
        if public_key is not None:
            return len(self._peer(public_key).staged)
        return sum(len(p.staged) for p in self._peers.values())

    def peer_stats(self) -> list[PeerStats]:
        return [
            PeerStats(
                public_key=p.public_key,
                endpoint=p.endpoint,
                last_handshake=p.last_handshake_wall,
                rx_bytes=p.rx_bytes,
                tx_bytes=p.tx_bytes,
                drops=dict(p.drops),
                queued_packets=len(p.staged),
                persistent_keepalive=p.persistent_keepalive or None,
                allowed_ips=p.allowed_ips,
            )
            for p in self._peers.values()
        ]

    def has_session(self, public_key: PublicKey, now: float) -> bool:
        """True if a packet for this peer sent at ``now`` would go out at once, without a
        handshake: a current session younger than REJECT_AFTER_TIME that has not used up
        REJECT_AFTER_MESSAGES, and an endpoint. A responder's session still waiting for
        key confirmation (``next``) does not count; keys kept after expiry do not either."""
        peer = self._peer(public_key)
        keypair = peer.current
        return (
            keypair is not None
            and keypair.send_counter < REJECT_AFTER_MESSAGES
            and now - keypair.created < REJECT_AFTER_TIME
            and peer.endpoint is not None
        )

    def _peer(self, public_key: PublicKey) -> Peer:
        try:
            return self._peers[public_key.raw]
        except (KeyError, AttributeError):
            raise KeyError(f"no such peer: {public_key!r}") from None

    # -- outbound --------------------------------------------------------------------------

    def send_packet(self, packet: bytes, now: float) -> list[Output]:
        """Encrypt an IP packet from the TUN device for the peer that routes its destination."""
        out: list[Output] = []
        self._send_packet(packet, now, out)
        return out

    def send_packets(self, packets: Iterable[bytes], now: float) -> list[Output]:
        """send_packet for a batch, with one output list."""
        out: list[Output] = []
        send = self._send_packet
        for packet in packets:
            send(packet, now, out)
        return out

    def _send_packet(self, packet: bytes, now: float, out: list) -> None:
        n = len(packet)
        version = packet[0] >> 4 if n else 0
        if version == 4 and n >= 20:
            peer = self._routes.lookup_v4(packet[16:20])
        elif version == 6 and n >= 40:
            peer = self._routes.lookup_v6(packet[24:40])
        else:
            self._drop_unattributed("invalid_packet", out)
            return
        if peer is None:
            self._drop_unattributed("no_route", out)
            return
        keypair = peer.current
        if (
            keypair is not None
            and not peer.staged
            and keypair.send_counter < REJECT_AFTER_MESSAGES
            and now - keypair.created < REJECT_AFTER_TIME
            and peer.endpoint is not None
        ):
            # The fast path: a live session and nothing queued ahead of this packet.
            self._seal(peer, keypair, packet, now, out)
            self._keep_key_fresh_sending(peer, keypair, now, out)
            return
        self._stage(peer, packet, out)
        self._send_staged(peer, now, out)

    def _stage(self, peer: Peer, packet: bytes, out: list) -> None:
        if len(peer.staged) >= MAX_STAGED_PACKETS:
            peer.staged.popleft()
            self._drop(peer, "queue_full", out)
        peer.staged.append(packet)

    def _seal(self, peer: Peer, keypair: Keypair, packet: bytes, now: float, out: list) -> None:
        counter = keypair.send_counter
        keypair.send_counter = counter + 1
        n = len(packet)
        pad = -n & 15
        if pad:
            mtu = self._mtu
            if mtu is not None and n + pad > mtu:
                pad = max(mtu - n, 0)
            packet = packet + _ZEROS[pad]
        data = _header(MESSAGE_TRANSPORT_DATA, keypair.remote_index, counter) + (
            keypair.send_aead.encrypt(_nonce(counter), packet, None)
        )
        # Every caller has checked that the peer has an endpoint.
        out.append(Transmit(data, peer.endpoint))  # type: ignore[arg-type]
        peer.tx_bytes += len(data)
        # timersAnyAuthenticatedPacketTraversal, ...Sent, and DataSent for non-keepalives.
        if peer.persistent_keepalive:
            peer.persistent_keepalive_at = now + peer.persistent_keepalive
        peer.send_keepalive = None
        if n and peer.new_handshake is None:
            peer.new_handshake = now + KEEPALIVE_TIMEOUT + REKEY_TIMEOUT + self._jitter()

    def _send_staged(self, peer: Peer, now: float, out: list) -> None:
        """wireguard-go's SendStagedPackets: flush the queue if the session allows."""
        if not peer.staged:
            return
        keypair = peer.current
        if (
            keypair is None
            or keypair.send_counter >= REJECT_AFTER_MESSAGES
            or now - keypair.created >= REJECT_AFTER_TIME
        ):
            self._send_initiation(peer, now, out, is_retry=False)
            return
        if peer.endpoint is None:
            return
        staged = peer.staged
        while staged:
            if keypair.send_counter >= REJECT_AFTER_MESSAGES:
                self._send_initiation(peer, now, out, is_retry=False)
                return
            self._seal(peer, keypair, staged.popleft(), now, out)
        self._keep_key_fresh_sending(peer, keypair, now, out)

    def _send_keepalive(self, peer: Peer, now: float, out: list) -> None:
        if not peer.staged:
            peer.staged.append(b"")
        self._send_staged(peer, now, out)

    def _keep_key_fresh_sending(self, peer: Peer, keypair: Keypair, now: float, out) -> None:
        # Only the session's initiator rekeys on age, so that both sides do not start a
        # handshake at the same moment; either rekeys on the message count.
        if keypair.send_counter > REKEY_AFTER_MESSAGES or (
            keypair.is_initiator and now - keypair.created > REKEY_AFTER_TIME
        ):
            self._send_initiation(peer, now, out, is_retry=False)

    def _keep_key_fresh_receiving(self, peer: Peer, now: float, out: list) -> None:
        # An initiator whose session nears REJECT_AFTER_TIME while only receiving would
        # otherwise notice only when it next sends; start a handshake now, once.
        if peer.sent_last_minute_handshake:
            return
        keypair = peer.current
        if (
            keypair is not None
            and keypair.is_initiator
            and now - keypair.created > REKEY_ON_RECEIVE_AGE
        ):
            peer.sent_last_minute_handshake = True
            self._send_initiation(peer, now, out, is_retry=False)

    # -- handshakes ------------------------------------------------------------------------

    def initiate_handshakes(self, now: float) -> list[Output]:
        """Start a handshake at once with every peer that has an endpoint (e.g. at startup)."""
        out: list[Output] = []
        for peer in self._peers.values():
            if peer.endpoint is not None:
                self._send_initiation(peer, now, out, is_retry=False)
        return out

    def _new_index(self) -> int:
        # A random 32-bit index not in use (a guessable one would let anyone aim datagrams
        # at our sessions). With a real entropy source a second draw is already rare; a
        # source that keeps repeating itself is the caller's bug, not a reason to hang.
        for _ in range(64):
            index = int.from_bytes(self._randbytes(4), "little")
            if index not in self._keypairs and index not in self._handshakes:
                return index
        raise RuntimeError("randbytes keeps returning indices already in use: is it random?")

    def _jitter(self) -> float:
        pool = self._jitter_pool
        if not pool:
            pool = self._randbytes(64)
        self._jitter_pool = pool[2:]
        scale = int.from_bytes(pool[:2], "little") / 65536
        return scale * REKEY_TIMEOUT_JITTER_MAX

    def _send_initiation(self, peer: Peer, now: float, out: list, *, is_retry: bool) -> bool:
        """wireguard-go's SendHandshakeInitiation, rate-limited to one per REKEY_TIMEOUT.
        False if the rate limit deferred it (to the retransmit_handshake timer)."""
        if not is_retry:
            peer.handshake_attempts = 0
        if now - peer.last_sent_handshake < REKEY_TIMEOUT:
            # DEVIATION: wireguard-go returns here and arms no timer. A response we sent
            # also counts as a handshake sent, so when two initiations cross, each side
            # answers the other's (abandoning its own, whose response then finds no
            # index), and its own retransmission, due within REKEY_TIMEOUT, is swallowed
            # here: both sides are left with an unconfirmed `next`, nothing in flight and
            # no timer, and queued packets wait for the application to send again or for
            # the keys to be zeroed. Whitepaper 6.4 retries every REKEY_TIMEOUT until
            # REKEY_ATTEMPT_TIME, so we send the initiation when the rate limit allows it.
            # A deferred retry is not counted as an attempt (the caller counts only those
            # sent), and a timer already armed is left alone.
            if peer.retransmit_handshake is None:
                peer.retransmit_handshake = (
                    peer.last_sent_handshake + REKEY_TIMEOUT + self._jitter()
                )
            return False
        peer.last_sent_handshake = now
        if peer.endpoint is None:
            self._drop(peer, "no_endpoint", out)
        else:
            self._forget_handshake(peer)
            index = self._new_index()
            ephemeral = dh_generate(self._randbytes)
            created = create_initiation(
                self.local, peer.remote, index, ephemeral, tai64n(self._wall_time())
            )
            if created is None:
                self._drop(peer, "handshake_dh_failed", out)
            else:
                message, state = created
                peer.handshake = state
                self._handshakes[index] = peer
                data = peer.cookies.add_macs(message.pack(), now)
                self._transmit_handshake(peer, data, now, out)
        # timersHandshakeInitiated
        peer.retransmit_handshake = now + REKEY_TIMEOUT + self._jitter()
        return True

    def _transmit_handshake(self, peer: Peer, data: bytes, now: float, out: list) -> None:
        assert peer.endpoint is not None  # a handshake is answered to, or sent to, an address
        out.append(Transmit(data, peer.endpoint))
        peer.tx_bytes += len(data)
        if peer.persistent_keepalive:
            peer.persistent_keepalive_at = now + peer.persistent_keepalive
        peer.send_keepalive = None

    def _forget_handshake(self, peer: Peer) -> None:
        if peer.handshake is not None:
            self._handshakes.pop(peer.handshake.sender, None)
            peer.handshake = None

    # -- inbound ---------------------------------------------------------------------------

    def receive_datagram(self, data: bytes, src: Endpoint, now: float) -> list[Output]:
        """Process one UDP datagram from ``src``. Bad input becomes Dropped, never raises."""
        out: list[Output] = []
        self._receive(data, src, now, out)
        return out

    def receive_datagrams(self, datagrams: Iterable[tuple[bytes, Endpoint]], now: float):
        """receive_datagram for a batch of (data, src), with one output list."""
        out: list[Output] = []
        receive = self._receive
        for data, src in datagrams:
            receive(data, src, now, out)
        return out

    def _receive(self, data: bytes, src: Endpoint, now: float, out: list) -> None:
        if len(data) >= TRANSPORT_MIN_SIZE and data[0] == MESSAGE_TRANSPORT_DATA:
            kind, receiver, counter = _header_unpack(data)
            if kind == MESSAGE_TRANSPORT_DATA:
                self._receive_transport(data, receiver, counter, src, now, out)
                return
        kind = message_type(data)
        if kind is None or kind == MESSAGE_TRANSPORT_DATA:
            self._drop_unattributed("invalid_message", out)
        elif kind == MESSAGE_COOKIE_REPLY:
            self._receive_cookie_reply(data, now, out)
        else:
            self._receive_handshake(kind, data, src, now, out)

    def _receive_transport(self, data, receiver, counter, src, now, out) -> None:
        keypair = self._keypairs.get(receiver)
        if keypair is None:
            self._drop_unattributed("unknown_index", out)
            return
        peer: Peer = keypair.peer
        if now - keypair.created >= REJECT_AFTER_TIME:
            self._drop(peer, "session_expired", out)
            return
        replay = keypair.replay
        if not replay.may_accept(counter):
            self._drop(peer, "replay", out)
            return
        try:
            packet = keypair.receive_aead.decrypt(
                _nonce(counter), memoryview(data)[TRANSPORT_HEADER_SIZE:], None
            )
        except InvalidTag:
            self._drop(peer, "decrypt_failed", out)
            return
        if not replay.accept(counter):
            self._drop(peer, "replay", out)
            return
        # Authenticated: this packet is the peer's, from wherever it came (roaming).
        peer.rx_bytes += len(data)
        if peer.endpoint != src:
            peer.endpoint = src
        # timersAnyAuthenticatedPacketReceived and ...Traversal. Before key confirmation:
        # the staged data that confirmation flushes must leave its new_handshake timer
        # armed, as it does in wireguard-go, where the flush is sent after this point.
        peer.new_handshake = None
        if peer.persistent_keepalive:
            peer.persistent_keepalive_at = now + peer.persistent_keepalive
        if keypair is peer.next:
            self._confirm_next(peer, now, out)
        if not peer.sent_last_minute_handshake and keypair.is_initiator:
            self._keep_key_fresh_receiving(peer, now, out)
        if not packet:
            return  # a keepalive
        # timersDataReceived
        if peer.send_keepalive is None:
            peer.send_keepalive = now + KEEPALIVE_TIMEOUT
        else:
            peer.need_another_keepalive = True
        version = packet[0] >> 4
        n = len(packet)
        if version == 4 and n >= 20:
            length = (packet[2] << 8) | packet[3]
            if length < 20 or length > n:
                self._drop(peer, "invalid_inner_packet", out)
                return
            source_peer = self._routes.lookup_v4(packet[12:16])
        elif version == 6 and n >= 40:
            length = 40 + ((packet[4] << 8) | packet[5])
            if length > n:
                self._drop(peer, "invalid_inner_packet", out)
                return
            source_peer = self._routes.lookup_v6(packet[8:24])
        else:
            self._drop(peer, "invalid_inner_packet", out)
            return
        if source_peer is not peer:
            self._drop(peer, "disallowed_source", out)
            return
        # The padding goes: the IP header says how long the packet really is.
        out.append(Deliver(packet if length == n else packet[:length]))

    def _confirm_next(self, peer: Peer, now: float, out: list) -> None:
        """The initiator used the session we derived as responder: it becomes current."""
        old = peer.previous
        if old is not None:
            self._keypairs.pop(old.local_index, None)
        peer.previous = peer.current
        peer.current = peer.next
        peer.next = None
        self._handshake_complete(peer, now, out)
        self._send_staged(peer, now, out)

    def _handshake_complete(self, peer: Peer, now: float, out: list) -> None:
        # timersHandshakeComplete
        peer.retransmit_handshake = None
        peer.handshake_attempts = 0
        peer.sent_last_minute_handshake = False
        peer.last_handshake_wall = self._wall_time()
        out.append(HandshakeCompleted(peer.public_key))

    def _receive_cookie_reply(self, data: bytes, now: float, out: list) -> None:
        _, receiver, nonce, sealed = COOKIE_REPLY.unpack(data)
        # A reply answers our initiation (a handshake index) or, when the initiator is the
        # one under load, our response, whose index already names the new session (in
        # `next`). wireguard-go accepts both; ignoring the second would leave an initiator
        # under load refusing our responses for as long as its load lasts.
        peer = self._handshakes.get(receiver)
        if peer is None:
            keypair = self._keypairs.get(receiver)
            if keypair is None:
                self._drop_unattributed("unknown_index", out)
                return
            peer = keypair.peer
        if not peer.cookies.consume_reply(CookieReply(receiver, nonce, sealed), now):
            self._drop(peer, "bad_cookie_reply", out)

    def _receive_handshake(self, kind: int, data: bytes, src, now: float, out: list) -> None:
        checker = self._cookie_checker
        if not checker.check_mac1(data):
            self._drop_unattributed("bad_mac1", out)
            return
        if self._load.record(now):
            if not checker.check_mac2(data, src, now):
                # Under load: prove you can receive at your address before we do any DH.
                layout = INITIATION if kind == MESSAGE_HANDSHAKE_INITIATION else RESPONSE
                sender = layout.unpack(data)[1]
                reply = checker.create_reply(data, sender, src, now, self._randbytes)
                out.append(Transmit(reply, src))
                self._drop_unattributed("cookie_sent", out)
                return
            if not self._rate_limiter.allow(src, now):
                self._drop_unattributed("rate_limited", out)
                return
        if kind == MESSAGE_HANDSHAKE_INITIATION:
            self._receive_initiation(data, src, now, out)
        else:
            self._receive_response(data, src, now, out)

    def _receive_initiation(self, data: bytes, src, now: float, out: list) -> None:
        _, sender, ephemeral, static, timestamp, mac1, mac2 = INITIATION.unpack(data)
        message = HandshakeInitiation(sender, ephemeral, static, timestamp, mac1, mac2)
        result = consume_initiation(self.local, self._local_initial_hash, message, self._remotes)
        if isinstance(result, str):
            self._drop_unattributed(result, out)
            return
        consumed, remote = result
        peer = self._peers[remote.public]
        # A replayed initiation carries an old timestamp; a flood comes too fast.
        if consumed.timestamp <= peer.last_timestamp:
            self._drop(peer, "handshake_replay", out)
            return
        if now - peer.last_initiation_consumed <= HANDSHAKE_INITIATION_RATE:
            self._drop(peer, "handshake_flood", out)
            return
        peer.last_timestamp = consumed.timestamp
        peer.last_initiation_consumed = now
        # Our own initiation, if any, is abandoned: the peer's wins (as in wireguard-go).
        self._forget_handshake(peer)
        peer.rx_bytes += len(data)
        # timersAnyAuthenticatedPacketTraversal, ...Received; roaming.
        peer.new_handshake = None
        peer.endpoint = src
        index = self._new_index()
        created = create_response(consumed, peer.remote, index, dh_generate(self._randbytes))
        if created is None:
            self._drop(peer, "handshake_dh_failed", out)
            return
        message_out, keys = created
        peer.last_sent_handshake = now
        keypair = Keypair(
            peer, index, keys.remote_index, keys.send_key, keys.receive_key, False, now
        )
        # As responder the new session waits in `next` for key confirmation; whatever was
        # there before and the previous session go.
        for old in (peer.next, peer.previous):
            if old is not None:
                self._keypairs.pop(old.local_index, None)
        peer.next = keypair
        peer.previous = None
        self._keypairs[index] = keypair
        self._session_derived(peer, now)
        self._transmit_handshake(peer, peer.cookies.add_macs(message_out.pack(), now), now, out)

    def _receive_response(self, data: bytes, src, now: float, out: list) -> None:
        _, sender, receiver, ephemeral, nothing, mac1, mac2 = RESPONSE.unpack(data)
        peer = self._handshakes.get(receiver)
        if peer is None or peer.handshake is None:
            self._drop_unattributed("unknown_index", out)
            return
        message = HandshakeResponse(sender, receiver, ephemeral, nothing, mac1, mac2)
        result = consume_response(self.local, peer.handshake, peer.remote, message)
        if isinstance(result, str):
            self._drop(peer, result, out)
            return
        keys = result
        # The handshake is done; its index now names the session.
        self._handshakes.pop(receiver, None)
        peer.handshake = None
        peer.rx_bytes += len(data)
        peer.new_handshake = None
        if peer.persistent_keepalive:
            peer.persistent_keepalive_at = now + peer.persistent_keepalive
        peer.endpoint = src
        keypair = Keypair(
            peer, keys.local_index, keys.remote_index, keys.send_key, keys.receive_key, True, now
        )
        # As initiator the session is confirmed already: it becomes current at once. An
        # unconfirmed `next` can never be confirmed now; it becomes previous instead of the
        # old current so that late packets on it still decrypt (wireguard-go does the same).
        if peer.next is not None:
            if peer.current is not None:
                self._keypairs.pop(peer.current.local_index, None)
            if peer.previous is not None:
                self._keypairs.pop(peer.previous.local_index, None)
            peer.previous = peer.next
            peer.next = None
        else:
            if peer.previous is not None:
                self._keypairs.pop(peer.previous.local_index, None)
            peer.previous = peer.current
        peer.current = keypair
        self._keypairs[keypair.local_index] = keypair
        self._session_derived(peer, now)
        self._handshake_complete(peer, now, out)
        # Key confirmation: the responder waits for our first packet on this session, so
        # send one now, data if some is queued, else a keepalive.
        self._send_keepalive(peer, now, out)

    def _session_derived(self, peer: Peer, now: float) -> None:
        # timersSessionDerived
        peer.zero_key_material = now + 3 * REJECT_AFTER_TIME

    # -- timers ----------------------------------------------------------------------------

    def next_deadline(self) -> float | None:
        """When handle_timer must next run (on the caller's clock), or None if never."""
        best: float | None = None
        for peer in self._peers.values():
            deadline = peer.earliest_deadline()
            if deadline is not None and (best is None or deadline < best):
                best = deadline
        return best

    def handle_timer(self, now: float) -> list[Output]:
        """Run every timer that is due at ``now``."""
        out: list[Output] = []
        for peer in list(self._peers.values()):
            if peer.zero_key_material is not None and peer.zero_key_material <= now:
                peer.zero_key_material = None
                self._zero_keys(peer, out)
            if peer.retransmit_handshake is not None and peer.retransmit_handshake <= now:
                peer.retransmit_handshake = None
                self._expired_retransmit_handshake(peer, now, out)
            if peer.send_keepalive is not None and peer.send_keepalive <= now:
                peer.send_keepalive = None
                self._send_keepalive(peer, now, out)
                if peer.need_another_keepalive:
                    peer.need_another_keepalive = False
                    peer.send_keepalive = now + KEEPALIVE_TIMEOUT
            if peer.new_handshake is not None and peer.new_handshake <= now:
                # We sent data and heard nothing back for KEEPALIVE_TIMEOUT + REKEY_TIMEOUT.
                peer.new_handshake = None
                self._send_initiation(peer, now, out, is_retry=False)
            if peer.persistent_keepalive_at is not None and peer.persistent_keepalive_at <= now:
                peer.persistent_keepalive_at = None
                if peer.persistent_keepalive:
                    self._send_keepalive(peer, now, out)
        return out

    def _expired_retransmit_handshake(self, peer: Peer, now: float, out: list) -> None:
        # As in wireguard-go and the kernel, the test is ">": the first initiation and
        # MAX_TIMER_HANDSHAKES + 1 retries go out (20 in all), and the peer gives up one
        # REKEY_TIMEOUT after the last, about 100 s after the first: after REKEY_ATTEMPT_TIME.
        if peer.handshake_attempts > MAX_TIMER_HANDSHAKES:
            # REKEY_ATTEMPT_TIME has passed: give up, drop what waited for this session.
            # The last initiation stays in flight, as in wireguard-go: a late response to it
            # still makes a session, until zero_key_material forgets it with the keys.
            peer.send_keepalive = None
            self._drop_staged(peer, "handshake_gave_up", out)
            if peer.zero_key_material is None:
                peer.zero_key_material = now + 3 * REJECT_AFTER_TIME
            out.append(HandshakeTimedOut(peer.public_key))
            return
        if self._send_initiation(peer, now, out, is_retry=True):
            peer.handshake_attempts += 1

    def _zero_keys(self, peer: Peer, out: list | None = None) -> None:
        """Forget every session and handshake of a peer (3 × REJECT_AFTER_TIME of silence)."""
        for keypair in (peer.current, peer.previous, peer.next):
            if keypair is not None:
                self._keypairs.pop(keypair.local_index, None)
        peer.current = peer.previous = peer.next = None
        self._forget_handshake(peer)
        if out is not None:
            self._drop_staged(peer, "keys_zeroed", out)
        peer.staged.clear()

    def _drop_staged(self, peer: Peer, reason: str, out: list) -> None:
        """Empty the staged queue, counting a drop for every packet in it. A keepalive
        waiting there (b"") was never the caller's packet and is not counted."""
        staged = peer.staged
        while staged:
            if staged.popleft():
                self._drop(peer, reason, out)

    # -- drops -----------------------------------------------------------------------------

    def _drop(self, peer: Peer, reason: str, out: list) -> None:
        peer.drops[reason] = peer.drops.get(reason, 0) + 1
        out.append(Dropped(reason, peer.public_key))

    def _drop_unattributed(self, reason: str, out: list) -> None:
        self.drops[reason] = self.drops.get(reason, 0) + 1
        out.append(Dropped(reason, None))

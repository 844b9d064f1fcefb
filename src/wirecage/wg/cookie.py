"""Cookies: the DoS mitigation of whitepaper 5.4.4 and 5.4.7.

Every handshake message ends with mac1 and mac2. mac1 = MAC(HASH(LABEL_MAC1 || S_r^pub),
message up to mac1) proves the sender knows the receiver's public key; it is checked before
any Curve25519 work. mac2 is zero unless the sender holds a cookie from the receiver.

A responder "under load" answers a handshake message whose mac2 is not valid with a cookie
reply instead of a response: the cookie is MAC(secret, source IP and port), with a secret
renewed every COOKIE_REFRESH_TIME, sealed with XAEAD under HASH(LABEL_COOKIE || S_r^pub)
and the message's mac1 as additional data. The initiator stores the cookie and, for the next
COOKIE_REFRESH_TIME, puts mac2 = MAC(cookie, message up to mac2) on its handshake messages.
Only a sender that can receive at its source address can get a cookie, so load from spoofed
addresses is cut off before the expensive part.

``CookieChecker`` is our responder side (keyed with our own public key), ``CookieGenerator``
the initiator side kept per peer (keyed with that peer's public key). ``LoadMonitor`` decides
when we are under load: wireguard-go looks at its handshake queue; a sans-IO core has no
queue, so it counts handshake messages per second instead.
"""

from __future__ import annotations

import hmac
import ipaddress
import struct
from collections.abc import Callable

from .constants import (
    COOKIE_NONCE_SIZE,
    COOKIE_REFRESH_TIME,
    LABEL_COOKIE,
    LABEL_MAC1,
    REKEY_TIMEOUT,
)
from .messages import MAC1_OFFSET, MAC2_OFFSET, CookieReply
from .primitives import InvalidTag, hash_, mac, xaead_decrypt, xaead_encrypt

_PORT = struct.Struct(">H")


def source_bytes(src: tuple) -> bytes:
    """The bytes a cookie is bound to: the packed IP address, then the port."""
    return ipaddress.ip_address(src[0]).packed + _PORT.pack(src[1])


class CookieChecker:
    """Our responder side: validate mac1/mac2 of incoming handshake messages, make cookies."""

    def __init__(self, local_public: bytes):
        self.mac1_key = hash_(LABEL_MAC1, local_public)
        self.cookie_key = hash_(LABEL_COOKIE, local_public)
        self._secret = b""
        self._secret_set = float("-inf")

    def check_mac1(self, message: bytes) -> bool:
        return hmac.compare_digest(
            mac(self.mac1_key, message[:MAC1_OFFSET]), message[MAC1_OFFSET:MAC2_OFFSET]
        )

    def check_mac2(self, message: bytes, src: tuple, now: float) -> bool:
        if now - self._secret_set > COOKIE_REFRESH_TIME:
            return False
        cookie = mac(self._secret, source_bytes(src))
        return hmac.compare_digest(mac(cookie, message[:MAC2_OFFSET]), message[MAC2_OFFSET:])

    def create_reply(
        self,
        message: bytes,
        receiver: int,
        src: tuple,
        now: float,
        randbytes: Callable[[int], bytes],
    ) -> bytes:
        """The cookie reply to a handshake message from ``src``; receiver is its sender index."""
        if now - self._secret_set > COOKIE_REFRESH_TIME:
            self._secret = randbytes(32)
            self._secret_set = now
        cookie = mac(self._secret, source_bytes(src))
        nonce = randbytes(COOKIE_NONCE_SIZE)
        sealed = xaead_encrypt(self.cookie_key, nonce, cookie, message[MAC1_OFFSET:MAC2_OFFSET])
        return CookieReply(receiver, nonce, sealed).pack()


class CookieGenerator:
    """Our initiator side towards one peer: add mac1/mac2, consume that peer's cookie replies."""

    def __init__(self, remote_public: bytes):
        self.mac1_key = hash_(LABEL_MAC1, remote_public)
        self.cookie_key = hash_(LABEL_COOKIE, remote_public)
        self._cookie = b""
        self._cookie_set = float("-inf")
        self._last_mac1: bytes | None = None

    def add_macs(self, message: bytes, now: float) -> bytes:
        """The message with mac1 and, while a cookie is fresh, mac2 filled in."""
        body = message[:MAC1_OFFSET]
        mac1 = mac(self.mac1_key, body)
        self._last_mac1 = mac1
        # DEVIATION: the whitepaper (and wireguard-go) let a cookie live COOKIE_REFRESH_TIME;
        # the responder changes its secret that often too, so like the Linux kernel we stop
        # REKEY_TIMEOUT earlier rather than send a mac2 made from a retired secret.
        if now - self._cookie_set >= COOKIE_REFRESH_TIME - REKEY_TIMEOUT:
            return body + mac1 + bytes(16)
        return body + mac1 + mac(self._cookie, body + mac1)

    def consume_reply(self, reply: CookieReply, now: float) -> bool:
        """Store the cookie of a reply to our last handshake message; False if it is bogus."""
        if self._last_mac1 is None:
            return False
        try:
            cookie = xaead_decrypt(
                self.cookie_key, reply.nonce, reply.encrypted_cookie, self._last_mac1
            )
        except InvalidTag:
            return False
        self._cookie = cookie
        self._cookie_set = now
        return True

    @property
    def has_cookie(self) -> bool:
        return bool(self._cookie)


class LoadMonitor:
    """Counts handshake messages per second; "under load" past a threshold, for a second more.

    DEVIATION: wireguard-go is under load when its handshake queue is one eighth full; a
    sans-IO core has no queue, so the rate of handshake messages stands in for it.
    """

    def __init__(self, threshold: int):
        self.threshold = threshold
        self._window_start = float("-inf")
        self._count = 0
        self._under_load_until = float("-inf")

    def record(self, now: float) -> bool:
        """Count one handshake message at ``now``; True if we are under load."""
        if now - self._window_start >= 1.0:
            self._window_start = now
            self._count = 0
        self._count += 1
        if self._count > self.threshold:
            self._under_load_until = now + 1.0
        return now < self._under_load_until


class RateLimiter:
    """A token bucket per source address for handshake messages under load.

    wireguard-go's values: 20 messages a second with a burst of 5, IPv6 sources counted per
    /64 (one host usually owns a whole /64). Only senders that proved their address with a
    valid mac2 reach this point, so a spoofing flood cannot fill anyone else's bucket.

    Every call is O(1) but one a second at most, which sweeps out the sources idle for more
    than GARBAGE_COLLECT_TIME (they have refilled their bucket long since, so forgetting them
    changes nothing): wireguard-go's separate once-a-second garbage collection, run inline.
    The table is bounded by MAX_ENTRIES. wireguard-go has no bound; the kernel's ratelimiter
    does, and when its table is full it refuses new sources, as we do: evicting someone to
    make room would need a scan per insert (a flood of distinct sources made that quadratic)
    or an order we do not keep. The cost: while a flood of sources that can all prove their
    address (e.g. many /64s of one attacker) fills the table, a new honest source is refused
    until the next sweep frees room, at most about two seconds after the flood stops; peers
    already in the table keep their buckets.
    """

    PACKETS_PER_SECOND = 20.0
    BURST = 5.0
    MAX_ENTRIES = 4096
    GARBAGE_COLLECT_TIME = 1.0

    def __init__(self) -> None:
        self._buckets: dict[bytes, tuple[float, float]] = {}
        self._last_sweep = float("-inf")

    def allow(self, src: tuple, now: float) -> bool:
        buckets = self._buckets
        if now - self._last_sweep >= self.GARBAGE_COLLECT_TIME:
            self._last_sweep = now
            stale = [
                k for k, (_, last) in buckets.items() if now - last > self.GARBAGE_COLLECT_TIME
            ]
            for k in stale:
                del buckets[k]
        packed = ipaddress.ip_address(src[0]).packed
        key = packed if len(packed) == 4 else packed[:8]
        bucket = buckets.get(key)
        if bucket is None:
            if len(buckets) >= self.MAX_ENTRIES:
                return False  # full: refuse new sources (see the class docstring)
            buckets[key] = (self.BURST - 1.0, now)
            return True
        tokens, last = bucket
        tokens = min(self.BURST, tokens + (now - last) * self.PACKETS_PER_SECOND)
        allowed = tokens >= 1.0
        if allowed:
            tokens -= 1.0
        buckets[key] = (tokens, now)
        return allowed

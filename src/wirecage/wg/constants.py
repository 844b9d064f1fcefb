"""The protocol's constants, named as in the whitepaper (section 5.4 and the timers of 6.1).

Sizes and message types are those of wireguard.com/protocol. Where the whitepaper is silent
(queue lengths, the replay window, the handshake flood limit) the values are wireguard-go's.
"""

from __future__ import annotations

CONSTRUCTION = b"Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s"
IDENTIFIER = b"WireGuard v1 zx2c4 Jason@zx2c4.com"
LABEL_MAC1 = b"mac1----"
LABEL_COOKIE = b"cookie--"

# Message types: the first byte of every datagram; the next three bytes are zero.
MESSAGE_HANDSHAKE_INITIATION = 1
MESSAGE_HANDSHAKE_RESPONSE = 2
MESSAGE_COOKIE_REPLY = 3
MESSAGE_TRANSPORT_DATA = 4

# Exact sizes on the wire (a transport message is at least its header and tag).
HANDSHAKE_INITIATION_SIZE = 148
HANDSHAKE_RESPONSE_SIZE = 92
COOKIE_REPLY_SIZE = 64
TRANSPORT_HEADER_SIZE = 16
AEAD_TAG_SIZE = 16
TRANSPORT_MIN_SIZE = TRANSPORT_HEADER_SIZE + AEAD_TAG_SIZE  # a keepalive: 32 bytes
KEY_SIZE = 32
TIMESTAMP_SIZE = 12
COOKIE_SIZE = 16
COOKIE_NONCE_SIZE = 24
MAC_SIZE = 16
PADDING_MULTIPLE = 16

# Section 6.1, "Timers and messages".
REKEY_AFTER_MESSAGES = 1 << 60
REJECT_AFTER_MESSAGES = (1 << 64) - (1 << 13) - 1
REKEY_AFTER_TIME = 120.0
REJECT_AFTER_TIME = 180.0
REKEY_ATTEMPT_TIME = 90.0
REKEY_TIMEOUT = 5.0
KEEPALIVE_TIMEOUT = 10.0
COOKIE_REFRESH_TIME = 120.0  # the responder's cookie secret changes this often
REKEY_TIMEOUT_JITTER_MAX = 1 / 3  # "up to 333 ms" added to each retransmission

# REKEY_ATTEMPT_TIME / REKEY_TIMEOUT (wireguard-go's MaxTimerHandshakes): a peer gives up
# when a retransmission falls due after more than this many retries, so MAX_TIMER_HANDSHAKES
# + 2 initiations go out in all, as wireguard-go and the kernel send.
MAX_TIMER_HANDSHAKES = int(REKEY_ATTEMPT_TIME // REKEY_TIMEOUT)

# An initiator whose session is this old when data arrives rekeys before the peer's
# REJECT_AFTER_TIME cuts it off (wireguard-go's keepKeyFreshReceiving).
REKEY_ON_RECEIVE_AGE = REJECT_AFTER_TIME - KEEPALIVE_TIMEOUT - REKEY_TIMEOUT

# Not in the whitepaper; wireguard-go's values.
MAX_STAGED_PACKETS = 128  # QueueStagedSize: packets waiting for a session, oldest dropped
HANDSHAKE_INITIATION_RATE = 1 / 50  # at most one consumed initiation per peer per 20 ms
UNDER_LOAD_HANDSHAKES_PER_SECOND = 256  # see cookie.LoadMonitor

"""TAI64N timestamps for handshake initiations (whitepaper 5.4.2, cr.yp.to/libtai/tai64.html).

12 bytes, big-endian: 2^62 + 10 + seconds since the Unix epoch (the label of TAI64, with the
10 s offset TAI had from UTC in 1970, as wireguard-go writes it), then nanoseconds. Like
wireguard-go we round the nanoseconds down to a multiple of 2^24 (about 16.8 ms) so that the
timestamp does not give away the precise clock of the sender; a responder only needs it to
grow between two initiations.
"""

from __future__ import annotations

import struct

TAI64_BASE = (1 << 62) + 10
_WHITENER_MASK = (1 << 24) - 1
_TAI64N = struct.Struct(">QI")


def tai64n(wall_time: float) -> bytes:
    """The TAI64N label of ``wall_time`` (seconds since the Unix epoch)."""
    seconds = int(wall_time // 1)
    nanoseconds = int((wall_time - seconds) * 1e9) & ~_WHITENER_MASK
    return _TAI64N.pack(TAI64_BASE + seconds, min(nanoseconds, 999_999_999))


def tai64n_decode(stamp: bytes) -> float:
    """The wall time (seconds since the epoch) of a TAI64N label; for logs and tests."""
    seconds, nanoseconds = _TAI64N.unpack(stamp)
    return seconds - TAI64_BASE + nanoseconds / 1e9

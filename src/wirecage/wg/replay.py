"""The sliding window that refuses replayed transport counters (RFC 6479's bitmap ring).

The window remembers the highest counter seen and, for the WINDOW_SIZE counters below it,
which ones arrived. The bitmap is a ring of 64-bit blocks; moving the window forward clears
the blocks it passes over instead of shifting bits, so an update costs a few integer
operations whatever the jump. The sizes are wireguard-go's: 128 blocks, of which one is the
block being filled, give a window of 127 × 64 = 8128 counters.

Checking is split in two so that it can be cheap and safe at once: ``may_accept`` runs
before decryption and changes nothing (a forged packet must not move the window), and
``accept`` records the counter once the packet has authenticated.
"""

from __future__ import annotations

from .constants import REJECT_AFTER_MESSAGES

BLOCK_BITS_LOG = 6
BLOCK_BITS = 1 << BLOCK_BITS_LOG
RING_BLOCKS = 128
WINDOW_SIZE = (RING_BLOCKS - 1) * BLOCK_BITS
_BLOCK_MASK = RING_BLOCKS - 1
_BIT_MASK = BLOCK_BITS - 1


class ReplayWindow:
    __slots__ = ("_last", "_ring")

    def __init__(self) -> None:
        self._last = 0
        self._ring = [0] * RING_BLOCKS

    def may_accept(self, counter: int) -> bool:
        """False if ``counter`` is certainly a replay, too old or past the message limit."""
        if counter >= REJECT_AFTER_MESSAGES:
            return False
        last = self._last
        if counter > last:
            return True
        if last - counter > WINDOW_SIZE:
            return False
        block = self._ring[(counter >> BLOCK_BITS_LOG) & _BLOCK_MASK]
        return not (block >> (counter & _BIT_MASK)) & 1

    def accept(self, counter: int) -> bool:
        """Record an authenticated ``counter``; False if it was a replay after all."""
        if counter >= REJECT_AFTER_MESSAGES:
            return False
        ring = self._ring
        block = counter >> BLOCK_BITS_LOG
        last = self._last
        if counter > last:
            current = last >> BLOCK_BITS_LOG
            # Clear the blocks the window slides over (at most the whole ring).
            for i in range(current + 1, current + 1 + min(block - current, RING_BLOCKS)):
                ring[i & _BLOCK_MASK] = 0
            self._last = counter
        elif last - counter > WINDOW_SIZE:
            return False
        index = block & _BLOCK_MASK
        bit = 1 << (counter & _BIT_MASK)
        old = ring[index]
        if old & bit:
            return False
        ring[index] = old | bit
        return True

"""Curve25519 keys and preshared keys as WireGuard writes them: 44 base64 characters.

Secrets never leave these objects by accident: ``repr`` and ``str`` of a private or
preshared key say ``<redacted>``; only ``to_base64()`` and ``raw`` give the secret, and only
code that must write it out calls them. Public keys print abbreviated (``AbCd…WxYz``).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey

from . import x25519 as _x25519

KEY_LEN = 32
KEY_B64_LEN = 44


class KeyFormatError(ValueError):
    """A key is not 44 base64 characters encoding 32 bytes."""


def decode_key(text: str) -> bytes:
    """Decode a key written the way ``wg`` writes it; raise KeyFormatError otherwise.

    The message never contains the text itself: it may be a secret.
    """
    if len(text) != KEY_B64_LEN:
        raise KeyFormatError(
            f"a key is exactly {KEY_B64_LEN} base64 characters, this one has {len(text)}"
        )
    if not text.endswith("=") or text.endswith("=="):
        raise KeyFormatError("a key is 44 base64 characters ending in a single '='")
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise KeyFormatError("a key is 44 base64 characters (A-Z a-z 0-9 + /)") from None
    if len(raw) != KEY_LEN:
        raise KeyFormatError(f"a key encodes {KEY_LEN} bytes")
    # wg rejects non-canonical encodings (stray low bits in the last character).
    if base64.b64encode(raw).decode("ascii") != text:
        raise KeyFormatError("a key must be canonical base64 (as printed by 'wg genkey')")
    return raw


class _Key:
    __slots__ = ("_raw",)

    def __init__(self, raw: bytes):
        if not isinstance(raw, bytes | bytearray) or len(raw) != KEY_LEN:
            raise KeyFormatError(f"a key is {KEY_LEN} bytes")
        self._raw = bytes(raw)

    @classmethod
    def from_base64(cls, text: str):
        return cls(decode_key(text))

    @property
    def raw(self) -> bytes:
        return self._raw

    def to_base64(self) -> str:
        return base64.b64encode(self._raw).decode("ascii")

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and other._raw == self._raw  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        return hash((type(self).__name__, self._raw))

    def __reduce__(self):  # pickling would copy the secret around; nothing needs it
        raise TypeError(f"{type(self).__name__} cannot be pickled")


class PublicKey(_Key):
    __slots__ = ()

    def short(self) -> str:
        b64 = self.to_base64()
        return f"{b64[:4]}…{b64[-5:-1]}"

    def __repr__(self) -> str:
        return f"PublicKey({self.short()})"

    def __str__(self) -> str:
        return self.to_base64()


class _SecretKey(_Key):
    __slots__ = ()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(<redacted>)"

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        return repr(self)


class PrivateKey(_SecretKey):
    __slots__ = ("_public",)

    def __init__(self, raw: bytes):
        super().__init__(raw)
        self._public: PublicKey | None = None

    @classmethod
    def generate(cls, randbytes: Callable[[int], bytes]) -> PrivateKey:
        """A new key from ``randbytes`` (``os.urandom`` in production), clamped like wg's."""
        raw = bytearray(randbytes(KEY_LEN))
        raw[0] &= 248
        raw[31] = (raw[31] & 127) | 64
        return cls(bytes(raw))

    def public_key(self) -> PublicKey:
        if self._public is None:
            pub = _x25519.private_from_bytes(self._raw).public_key()
            self._public = PublicKey(pub.public_bytes_raw())
        return self._public

    def x25519(self) -> X25519PrivateKey:
        return _x25519.private_from_bytes(self._raw)


class PresharedKey(_SecretKey):
    __slots__ = ()

    @classmethod
    def generate(cls, randbytes: Callable[[int], bytes]) -> PresharedKey:
        return cls(randbytes(KEY_LEN))


def x25519_public(key: PublicKey) -> X25519PublicKey:
    return _x25519.public_from_bytes(key.raw)

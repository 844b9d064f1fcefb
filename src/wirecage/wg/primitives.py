"""The cryptographic primitives of WireGuard (whitepaper section 5.4), by their spec names.

HASH is BLAKE2s-256; MAC is keyed BLAKE2s-128; HMAC is HMAC-BLAKE2s-256; KDF1/2/3 are the
HKDF-like chains built on that HMAC; AEAD is ChaCha20-Poly1305 with a 64-bit little-endian
counter as nonce; XAEAD is XChaCha20-Poly1305, used only to seal cookies; DH is X25519.

``cryptography`` has no XChaCha20-Poly1305. XChaCha20 is ChaCha20 keyed with HChaCha20(key,
nonce[:16]) and the remaining 8 nonce bytes. HChaCha20 is the ChaCha20 block function
without the final addition of the input state, keeping words 0..3 and 12..15. One ChaCha20
block of keystream from ``cryptography`` is exactly "rounds(state) + state" with the 16-byte
nonce in words 12..15, so subtracting the known input words gives HChaCha20.
"""

from __future__ import annotations

import hashlib
import hmac
import struct

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

from . import x25519

__all__ = [
    "AEAD_NONCE",
    "InvalidTag",
    "aead_decrypt",
    "aead_encrypt",
    "dh",
    "dh_generate",
    "dh_public",
    "hash_",
    "hchacha20",
    "hmac_",
    "kdf1",
    "kdf2",
    "kdf3",
    "mac",
    "xaead_decrypt",
    "xaead_encrypt",
]

# The AEAD nonce: 32 zero bits then the 64-bit counter, little-endian.
AEAD_NONCE = struct.Struct("<4xQ")

_SIGMA = b"expand 32-byte k"
_WORDS16 = struct.Struct("<16I")
_ZERO_BLOCK = bytes(64)
_ZERO_DH = bytes(32)


def hash_(*parts: bytes) -> bytes:
    """HASH(a || b || ...): BLAKE2s with a 32-byte digest."""
    h = hashlib.blake2s()
    for part in parts:
        h.update(part)
    return h.digest()


def mac(key: bytes, data: bytes) -> bytes:
    """MAC(key, data): keyed BLAKE2s with a 16-byte digest."""
    return hashlib.blake2s(data, key=key, digest_size=16).digest()


def hmac_(key: bytes, data: bytes) -> bytes:
    """HMAC(key, data) with BLAKE2s-256 (block size 64)."""
    return hmac.digest(key, data, hashlib.blake2s)


def kdf1(key: bytes, data: bytes) -> bytes:
    tau0 = hmac_(key, data)
    return hmac_(tau0, b"\x01")


def kdf2(key: bytes, data: bytes) -> tuple[bytes, bytes]:
    tau0 = hmac_(key, data)
    tau1 = hmac_(tau0, b"\x01")
    tau2 = hmac_(tau0, tau1 + b"\x02")
    return tau1, tau2


def kdf3(key: bytes, data: bytes) -> tuple[bytes, bytes, bytes]:
    tau0 = hmac_(key, data)
    tau1 = hmac_(tau0, b"\x01")
    tau2 = hmac_(tau0, tau1 + b"\x02")
    tau3 = hmac_(tau0, tau2 + b"\x03")
    return tau1, tau2, tau3


def aead_encrypt(key: bytes, counter: int, plaintext: bytes, auth: bytes) -> bytes:
    """AEAD(key, counter, plain text, auth text) for the handshake's one-off uses."""
    return ChaCha20Poly1305(key).encrypt(AEAD_NONCE.pack(counter), plaintext, auth)


def aead_decrypt(key: bytes, counter: int, ciphertext: bytes, auth: bytes) -> bytes:
    """The inverse of aead_encrypt; raises InvalidTag when authentication fails."""
    return ChaCha20Poly1305(key).decrypt(AEAD_NONCE.pack(counter), ciphertext, auth)


def hchacha20(key: bytes, nonce16: bytes) -> bytes:
    """HChaCha20 (draft-irtf-cfrg-xchacha section 2.2): a 32-byte subkey."""
    if len(key) != 32 or len(nonce16) != 16:
        raise ValueError("hchacha20 takes a 32-byte key and a 16-byte nonce")
    encryptor = Cipher(algorithms.ChaCha20(key, nonce16), mode=None).encryptor()
    block = _WORDS16.unpack(encryptor.update(_ZERO_BLOCK))
    state = _WORDS16.unpack(_SIGMA + key + nonce16)
    words = [(block[i] - state[i]) & 0xFFFFFFFF for i in (0, 1, 2, 3, 12, 13, 14, 15)]
    return struct.pack("<8I", *words)


def _xchacha_parts(key: bytes, nonce: bytes) -> tuple[ChaCha20Poly1305, bytes]:
    if len(nonce) != 24:
        raise ValueError("XChaCha20-Poly1305 takes a 24-byte nonce")
    return ChaCha20Poly1305(hchacha20(key, nonce[:16])), b"\x00\x00\x00\x00" + nonce[16:]


def xaead_encrypt(key: bytes, nonce: bytes, plaintext: bytes, auth: bytes) -> bytes:
    """XAEAD(key, nonce, plain text, auth text): XChaCha20-Poly1305."""
    aead, chacha_nonce = _xchacha_parts(key, nonce)
    return aead.encrypt(chacha_nonce, plaintext, auth)


def xaead_decrypt(key: bytes, nonce: bytes, ciphertext: bytes, auth: bytes) -> bytes:
    """The inverse of xaead_encrypt; raises InvalidTag when authentication fails."""
    aead, chacha_nonce = _xchacha_parts(key, nonce)
    return aead.decrypt(chacha_nonce, ciphertext, auth)


def dh_generate(randbytes) -> X25519PrivateKey:
    """DH-GENERATE(): a fresh X25519 private key from the injected entropy source."""
    return x25519.private_from_bytes(randbytes(32))


def dh_public(private: X25519PrivateKey) -> bytes:
    return private.public_key().public_bytes_raw()


def dh(private: X25519PrivateKey, public: bytes) -> bytes | None:
    """DH(private, public); None when the result is all zeros (a low-order point).

    The whitepaper requires rejecting that result; ``cryptography`` raises ValueError for it.
    """
    try:
        shared = private.exchange(x25519.public_from_bytes(public))
    except ValueError:
        return None
    if hmac.compare_digest(shared, _ZERO_DH):
        return None
    return shared

"""X25519 keys from raw bytes, without the start-up cost of cryptography's key classes.

``X25519PrivateKey.from_private_bytes`` and ``X25519PublicKey.from_public_bytes`` first
import cryptography's whole OpenSSL "backend" module (with the RSA, DSA, EC and OID
modules it pulls in), only to ask whether the OpenSSL in use supports X25519, and then call
the Rust functions below. The import costs 5 to 7 ms, once per process: a good share of a
whole ``wirecage up PROFILE -- true``. The answer is always yes for the OpenSSL that
cryptography ships, and the Rust functions raise an error of their own if it ever were no.

So these call the Rust functions directly: the objects are the very ones the public
methods return (``X25519PrivateKey`` and ``X25519PublicKey`` instances). The functions
live in a private module of cryptography; if a release moves them, the public methods are
used instead, slower to start and otherwise the same.
"""

from __future__ import annotations

from collections.abc import Callable

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey

private_from_bytes: Callable[[bytes], X25519PrivateKey]
public_from_bytes: Callable[[bytes], X25519PublicKey]

try:
    from cryptography.hazmat.bindings._rust import openssl as _rust_openssl

    private_from_bytes = _rust_openssl.x25519.from_private_bytes
    public_from_bytes = _rust_openssl.x25519.from_public_bytes
except (ImportError, AttributeError):  # pragma: no cover - depends on cryptography's version
    private_from_bytes = X25519PrivateKey.from_private_bytes
    public_from_bytes = X25519PublicKey.from_public_bytes

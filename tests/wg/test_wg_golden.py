"""Golden handshakes: fixed keys, ephemerals, timestamps and indices give byte-exact messages.

The vectors in vectors/handshakes.json were produced by this code once the same code had
completed handshakes with the real wireguard-go (test_wg_interop.py); they pin the exact
bytes of every step so that a refactoring cannot change the protocol silently. Regenerate
only on purpose: ``python tests/wg/test_wg_golden.py --regenerate``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from wirecage.wg import messages, noise
from wirecage.wg.cookie import CookieChecker, CookieGenerator
from wirecage.wg.keys import PrivateKey
from wirecage.wg.primitives import AEAD_NONCE
from wirecage.wg.tai64n import tai64n

VECTORS = Path(__file__).with_name("vectors") / "handshakes.json"


def seeds(case: int) -> dict:
    """The fixed inputs of one vector, derived from its number so they are easy to read."""

    def key(tag: int) -> str:
        return bytes((tag * 16 + case + i) & 0xFF for i in range(32)).hex()

    return {
        "initiator_static": key(1),
        "responder_static": key(2),
        "initiator_ephemeral": key(3),
        "responder_ephemeral": key(4),
        "preshared_key": key(5) if case % 2 else None,
        "timestamp": tai64n(1_700_000_000 + case).hex(),
        "initiator_index": 0x01020304 + case,
        "responder_index": 0xA0B0C0D0 - case,
        "plaintext": (b"golden packet %d" % case).hex(),
    }


def compute(inputs: dict) -> dict:
    def private(name: str) -> X25519PrivateKey:
        return X25519PrivateKey.from_private_bytes(bytes.fromhex(inputs[name]))

    psk = bytes.fromhex(inputs["preshared_key"]) if inputs["preshared_key"] else None
    initiator = noise.LocalStatic(private("initiator_static"))
    responder = noise.LocalStatic(private("responder_static"))
    to_responder = noise.RemoteStatic(initiator, responder.public, psk)
    to_initiator = noise.RemoteStatic(responder, initiator.public, psk)

    created = noise.create_initiation(
        initiator,
        to_responder,
        inputs["initiator_index"],
        private("initiator_ephemeral"),
        bytes.fromhex(inputs["timestamp"]),
    )
    assert created is not None
    initiation, sent = created
    initiation_bytes = CookieGenerator(responder.public).add_macs(initiation.pack(), 0.0)

    checker = CookieChecker(responder.public)
    assert checker.check_mac1(initiation_bytes)
    parsed = messages.parse(initiation_bytes)
    own_hash = noise.RemoteStatic(responder, responder.public, None).initial_hash
    consumed = noise.consume_initiation(
        responder, own_hash, parsed, {initiator.public: to_initiator}
    )
    assert not isinstance(consumed, str)
    state, _ = consumed
    assert state.timestamp.hex() == inputs["timestamp"]

    answered = noise.create_response(
        state, to_initiator, inputs["responder_index"], private("responder_ephemeral")
    )
    assert answered is not None
    response, responder_keys = answered
    response_bytes = CookieGenerator(initiator.public).add_macs(response.pack(), 0.0)
    initiator_keys = noise.consume_response(
        initiator, sent, to_responder, messages.parse(response_bytes)
    )
    assert not isinstance(initiator_keys, str)

    from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

    plaintext = bytes.fromhex(inputs["plaintext"])
    transport = messages.TransportData(
        initiator_keys.remote_index,
        0,
        ChaCha20Poly1305(initiator_keys.send_key).encrypt(AEAD_NONCE.pack(0), plaintext, None),
    ).pack()
    return {
        "initiator_public": initiator.public.hex(),
        "responder_public": responder.public.hex(),
        "initiation": initiation_bytes.hex(),
        "response": response_bytes.hex(),
        "initiator_send_key": initiator_keys.send_key.hex(),
        "initiator_receive_key": initiator_keys.receive_key.hex(),
        "responder_send_key": responder_keys.send_key.hex(),
        "responder_receive_key": responder_keys.receive_key.hex(),
        "transport": transport.hex(),
    }


def load() -> list[dict]:
    return json.loads(VECTORS.read_text())


@pytest.mark.parametrize("vector", load(), ids=lambda v: v["name"])
def test_golden_handshake(vector):
    got = compute(vector["inputs"])
    assert got == vector["expected"]
    # The two sides agree crosswise, and the sizes are the protocol's.
    assert got["initiator_send_key"] == got["responder_receive_key"]
    assert got["initiator_receive_key"] == got["responder_send_key"]
    assert len(bytes.fromhex(got["initiation"])) == 148
    assert len(bytes.fromhex(got["response"])) == 92


def test_public_keys_match_the_key_module():
    for vector in load():
        raw = bytes.fromhex(vector["inputs"]["initiator_static"])
        assert PrivateKey(raw).public_key().raw.hex() == vector["expected"]["initiator_public"]


def test_vectors_cover_with_and_without_preshared_key():
    kinds = {v["inputs"]["preshared_key"] is None for v in load()}
    assert kinds == {True, False}


def regenerate() -> None:
    vectors = []
    for case in range(4):
        inputs = seeds(case)
        name = f"case{case}-{'psk' if inputs['preshared_key'] else 'nopsk'}"
        vectors.append({"name": name, "inputs": inputs, "expected": compute(inputs)})
    VECTORS.write_text(json.dumps(vectors, indent=2) + "\n")


if __name__ == "__main__" and "--regenerate" in sys.argv:
    regenerate()

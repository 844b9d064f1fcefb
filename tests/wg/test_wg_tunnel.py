"""Two Tunnels over an in-memory link with a fake clock (wgpair.PeerPair)."""

from __future__ import annotations

from wgpair import PeerPair


def test_handshake_then_data_both_ways():
    pair = PeerPair()
    pair.send_udp(pair.a, b"hello")
    # The packet waited for the handshake, then went out: initiation, response, data.
    assert [len(d) for _, d in pair.wire_log] == [148, 92, 80]
    assert [p[28:] for p in pair.b.delivered] == [b"hello"]
    assert pair.a.completed == 1 and pair.b.completed == 1
    pair.send_udp(pair.b, b"back")
    assert [p[28:] for p in pair.a.delivered] == [b"back"]
    assert pair.a.dropped == [] and pair.b.dropped == []


def test_initiator_confirms_the_session_with_a_keepalive():
    pair = PeerPair()
    pair.handshake()
    # Nothing queued: the initiator sends an empty transport message (32 bytes) at once,
    # which is what moves the responder's session from `next` to `current`.
    assert [len(d) for _, d in pair.wire_log] == [148, 92, 32]
    assert pair.b.completed == 1
    assert pair.b.delivered == []

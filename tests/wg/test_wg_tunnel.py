"""Two Tunnels over an in-memory link with a fake clock (wgpair.PeerPair)."""

from __future__ import annotations

import itertools
import random
import struct

import pytest
from wgpackets import ipv6, udp4
from wgpair import A_ADDRESS, A_ENDPOINT, B_ADDRESS, B_ENDPOINT, WALL_EPOCH, PeerPair

from wirecage.wg.constants import (
    KEEPALIVE_TIMEOUT,
    MAX_STAGED_PACKETS,
    MAX_TIMER_HANDSHAKES,
    REJECT_AFTER_TIME,
    REKEY_ATTEMPT_TIME,
    REKEY_TIMEOUT,
)
from wirecage.wg.keys import PresharedKey, PrivateKey
from wirecage.wg.replay import WINDOW_SIZE
from wirecage.wg.tunnel import Deliver, Dropped, PeerConfig, Transmit, Tunnel


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


def transport_receivers(datagrams: list[bytes]) -> list[int]:
    return [struct.unpack_from("<I", d, 4)[0] for d in datagrams if d[0] == 4]


def test_handshake_with_preshared_key():
    pair = PeerPair(psk=True)
    pair.send_udp(pair.a, b"with psk")
    assert [p[28:] for p in pair.b.delivered] == [b"with psk"]


def test_mismatched_preshared_key_gives_no_session_and_a_reason():
    pair = PeerPair(psk=True)
    # Rebuild b with a different preshared key for a: the response cannot authenticate.
    config = PeerConfig(
        pair.a_key.public_key(),
        PresharedKey.generate(random.Random(5).randbytes),
        allowed_ips=[A_ADDRESS + "/32"],
    )
    pair.b.tunnel = Tunnel(
        pair.b_key,
        [config],
        now=pair.now,
        randbytes=random.Random(3).randbytes,
        wall_time=pair.wall_time,
    )
    pair.send_udp(pair.a, b"x")
    assert "handshake_decrypt_failed" in pair.a.drop_reasons()
    assert pair.a.completed == 0 and pair.b.delivered == []


def test_rekey_after_rekey_after_time_by_the_initiator():
    pair = PeerPair()
    pair.send_udp(pair.a, b"start")
    first = transport_receivers(pair.a.sent)[-1]
    for _ in range(13):  # traffic both ways every 10 s, for 130 s
        pair.advance(10)
        pair.send_udp(pair.a, b"ping")
        pair.send_udp(pair.b, b"pong")
    assert pair.a.completed == 2 and pair.b.completed == 2
    assert transport_receivers(pair.a.sent)[-1] != first
    # Nothing was lost during the rekey: the old session carried traffic until the new one.
    assert len(pair.b.delivered) == 14 and len(pair.a.delivered) == 13
    assert pair.a.dropped == [] and pair.b.dropped == []


def test_the_responder_does_not_rekey_on_time():
    pair = PeerPair()
    pair.send_udp(pair.a, b"start")
    for _ in range(13):
        pair.advance(10)
        pair.send_udp(pair.b, b"pong")  # only the responder sends
        pair.send_udp(pair.a, b"ping")
    initiations_from_b = [d for d in pair.b.sent if d[0] == 1]
    assert initiations_from_b == []


def test_session_rejected_after_reject_after_time():
    pair = PeerPair()
    first_handshake_done = []

    def block_later_handshakes(origin, data):
        if data[0] in (1, 2) and first_handshake_done:
            return []
        return [data]

    pair.link_filter = block_later_handshakes
    pair.send_udp(pair.a, b"start")
    first_handshake_done.append(True)
    session = transport_receivers(pair.a.sent)[-1]
    for _ in range(17):
        pair.advance(10)
        pair.send_udp(pair.a, b"ping")
    pair.advance(9)  # t = 179: the session is still valid
    pair.send_udp(pair.a, b"last")
    late = pair.a.sent[-1]
    assert transport_receivers([late]) == [session]
    assert pair.b.delivered[-1][28:] == b"last"
    pair.advance(2)  # t = 181
    before = len(pair.a.sent)
    pair.send_udp(pair.a, b"too late")
    assert transport_receivers(pair.a.sent[before:]) == []  # not sealed with the dead key
    assert pair.a.tunnel.queued_packets() == 1
    pair.inject(pair.b, late)  # an old datagram arriving after the session's end
    assert pair.b.drop_reasons()[-1] == "session_expired"


def test_retransmissions_then_giving_up():
    pair = PeerPair()
    pair.link_filter = lambda origin, data: [] if origin is pair.a else [data]
    start = pair.now
    pair.send_udp(pair.a, b"lost")
    initiation_times = [pair.now]
    for _ in range(200):
        sent = len(pair.a.sent)
        pair.advance(1)
        if len(pair.a.sent) > sent:
            initiation_times.append(pair.now)
        if pair.a.timed_out:
            break
    gave_up = pair.now - start
    gaps = [b - a for a, b in itertools.pairwise(initiation_times)]
    assert all(REKEY_TIMEOUT <= gap <= REKEY_TIMEOUT + 1 for gap in gaps)
    assert len(initiation_times) == 1 + MAX_TIMER_HANDSHAKES
    assert REKEY_ATTEMPT_TIME <= gave_up <= REKEY_ATTEMPT_TIME + 2 * (REKEY_TIMEOUT + 1)
    assert pair.a.timed_out == 1
    assert pair.a.drop_reasons() == ["handshake_gave_up"]
    assert pair.a.tunnel.queued_packets() == 0
    assert pair.a.tunnel.peer_stats()[0].drops == {"handshake_gave_up": 1}
    # After giving up, nothing more is sent until there is new traffic.
    sent = len(pair.a.sent)
    pair.advance(60)
    assert len(pair.a.sent) == sent


def test_initiations_are_rate_limited():
    pair = PeerPair()
    pair.link_filter = lambda origin, data: [] if origin is pair.a else [data]
    for _ in range(10):
        pair.send_udp(pair.a, b"x")
        pair.advance(0.3)
    assert [d[0] for d in pair.a.sent] == [1]
    assert pair.a.tunnel.queued_packets() == 10


def test_keepalive_after_receiving_data_without_answering():
    pair = PeerPair()
    pair.send_udp(pair.a, b"data")
    sent = len(pair.b.sent)
    pair.advance(KEEPALIVE_TIMEOUT - 0.1)
    assert len(pair.b.sent) == sent
    pair.advance(0.2)
    assert [len(d) for d in pair.b.sent[sent:]] == [32]
    # One keepalive is enough: no more without new data.
    pair.advance(60)
    assert len(pair.b.sent) == sent + 1


def test_persistent_keepalive():
    pair = PeerPair(a_keepalive=25)
    pair.handshake()
    sent = len(pair.a.sent)
    pair.advance(100)
    keepalives = [d for d in pair.a.sent[sent:] if len(d) == 32]
    assert len(keepalives) == 4


def test_new_handshake_when_data_gets_no_answer():
    pair = PeerPair()
    pair.send_udp(pair.a, b"hello")
    pair.link_filter = lambda origin, data: [] if origin is pair.b else [data]
    sent = len(pair.a.sent)
    pair.send_udp(pair.a, b"anyone?")
    pair.advance(KEEPALIVE_TIMEOUT + REKEY_TIMEOUT + 0.5)
    assert [d[0] for d in pair.a.sent[sent:]] == [4, 1]


def test_cookie_exchange_under_load():
    pair = PeerPair(under_load_threshold=0)  # every handshake message counts as load
    pair.send_udp(pair.a, b"busy?")
    # b answered the initiation with a cookie reply instead of a response.
    assert [len(d) for _, d in pair.wire_log] == [148, 64]
    assert pair.b.drop_reasons() == ["cookie_sent"]
    first = pair.a.sent[0]
    assert first[-16:] == bytes(16)  # no mac2 before a cookie
    pair.advance(REKEY_TIMEOUT + 1)  # the retransmission carries mac2
    assert pair.a.sent[1][0] == 1 and pair.a.sent[1][-16:] != bytes(16)
    assert [p[28:] for p in pair.b.delivered] == [b"busy?"]
    assert pair.a.completed == 1


def test_cookie_reply_for_someone_else_is_refused():
    pair = PeerPair(under_load_threshold=0)
    pair.send_udp(pair.a, b"x")
    cookie_reply = [d for o, d in pair.wire_log if o == "b"][0]
    forged = cookie_reply[:8] + bytes(24) + cookie_reply[32:]
    pair.inject(pair.a, forged)
    assert pair.a.drop_reasons() == ["bad_cookie_reply"]


def test_replayed_initiation_is_rejected():
    pair = PeerPair()
    pair.handshake()
    initiation = pair.a.sent[0]
    pair.inject(pair.b, initiation)
    assert pair.b.drop_reasons() == ["handshake_replay"]


def test_initiation_flood_is_rejected():
    pair = PeerPair()
    pair.process(pair.a, pair.a.tunnel.initiate_handshakes(pair.now))
    # A second, newer initiation 1 ms later: a different timestamp, still too fast.
    a2 = Tunnel(
        pair.a_key,
        [PeerConfig(pair.b_key.public_key(), endpoint=B_ENDPOINT)],
        now=pair.now,
        randbytes=random.Random(77).randbytes,
        wall_time=lambda: pair.wall_time() + 1,
    )
    (init,) = a2.initiate_handshakes(pair.now + 0.001)
    pair.now += 0.001
    pair.inject(pair.b, init.data)
    assert pair.b.drop_reasons() == ["handshake_flood"]


def test_replayed_data_is_rejected():
    pair = PeerPair()
    pair.send_udp(pair.a, b"once")
    pair.inject(pair.b, pair.a.sent[-1])
    assert pair.b.drop_reasons() == ["replay"]
    assert len(pair.b.delivered) == 1


def test_reordering_within_the_window_is_accepted():
    pair = PeerPair()
    pair.handshake()
    held: list[bytes] = []
    pair.link_filter = lambda origin, data: (held.append(data), [])[1]
    for i in range(50):
        pair.send_udp(pair.a, b"n%d" % i)
    pair.link_filter = None
    for data in reversed(held):
        pair.inject(pair.b, data)
    assert sorted(p[28:] for p in pair.b.delivered) == sorted(b"n%d" % i for i in range(50))
    assert pair.b.dropped == []


def test_counters_older_than_the_window_are_rejected():
    pair = PeerPair()
    pair.handshake()
    held: list[bytes] = []
    pair.link_filter = lambda origin, data: (held.append(data), [])[1]
    for _ in range(WINDOW_SIZE + 10):
        pair.send_udp(pair.a, b"x")
    pair.link_filter = None
    pair.inject(pair.b, held[-1])
    pair.inject(pair.b, held[0])
    assert pair.b.drop_reasons() == ["replay"]
    pair.inject(pair.b, held[-5])
    assert len(pair.b.delivered) == 2


def test_disallowed_inner_source_is_dropped():
    pair = PeerPair()
    pair.send(pair.a, udp4("10.77.0.99", 1, B_ADDRESS, 2, b"spoofed"))
    assert pair.b.delivered == []
    assert pair.b.drop_reasons() == ["disallowed_source"]
    assert pair.b.tunnel.peer_stats()[0].drops == {"disallowed_source": 1}


def test_key_confirmation_holds_responder_traffic_until_the_initiator_speaks():
    pair = PeerPair()
    pair.link_filter = lambda origin, data: [] if len(data) == 32 else [data]
    pair.handshake()  # the initiator's confirming keepalive is lost
    assert pair.a.completed == 1 and pair.b.completed == 0
    sent = len(pair.b.sent)
    pair.send_udp(pair.b, b"early")
    # b has the session only in `next`: it must not use it yet, and holds the packet.
    assert transport_receivers(pair.b.sent[sent:]) == []
    assert pair.b.tunnel.queued_packets() == 1
    pair.link_filter = None
    pair.send_udp(pair.a, b"confirm")
    assert pair.b.completed == 1
    assert [p[28:] for p in pair.a.delivered] == [b"early"]
    assert pair.b.tunnel.queued_packets() == 0


def test_roaming_follows_the_latest_authenticated_source():
    pair = PeerPair()
    pair.send_udp(pair.a, b"hi")
    new_place = ("198.51.100.77", 40000)
    pair.a.endpoint = new_place
    pair.send_udp(pair.a, b"moved")
    (stats,) = pair.b.tunnel.peer_stats()
    assert stats.endpoint == new_place
    out = pair.b.tunnel.send_packet(udp4(B_ADDRESS, 1, A_ADDRESS, 2, b"x"), pair.now)
    assert out[0].endpoint == new_place
    # A forged datagram from elsewhere does not move the endpoint.
    forged = bytearray(pair.a.sent[-1])
    forged[-1] ^= 1
    pair.inject(pair.b, bytes(forged), src=("198.51.100.66", 1))
    assert pair.b.tunnel.peer_stats()[0].endpoint == new_place


def test_keys_are_zeroed_after_three_reject_after_times():
    pair = PeerPair()
    pair.send_udp(pair.a, b"hi")
    assert pair.a.tunnel.has_session(pair.b_key.public_key())
    pair.advance(3 * REJECT_AFTER_TIME - 1)
    assert pair.a.tunnel.has_session(pair.b_key.public_key())
    pair.advance(2)
    assert not pair.a.tunnel.has_session(pair.b_key.public_key())
    assert not pair.b.tunnel.has_session(pair.a_key.public_key())
    # A datagram of the old session is now unknown.
    pair.inject(pair.b, pair.a.sent[-1])
    assert pair.b.drop_reasons()[-1] == "unknown_index"
    # New traffic starts a new handshake.
    pair.send_udp(pair.a, b"again")
    assert pair.b.delivered[-1][28:] == b"again" and pair.a.completed == 2


def test_queue_is_bounded_and_drops_the_oldest():
    pair = PeerPair()
    pair.link_filter = lambda origin, data: []
    for i in range(MAX_STAGED_PACKETS + 3):
        pair.send_udp(pair.a, b"%d" % i)
    assert pair.a.tunnel.queued_packets() == MAX_STAGED_PACKETS
    assert pair.a.drop_reasons() == ["queue_full"] * 3
    pair.link_filter = None
    pair.advance(REKEY_TIMEOUT + 1)
    assert [p[28:] for p in pair.b.delivered][:2] == [b"3", b"4"]
    assert len(pair.b.delivered) == MAX_STAGED_PACKETS


def test_statistics():
    pair = PeerPair()
    pair.send_udp(pair.a, b"12345")
    pair.send_udp(pair.b, b"abc")
    (a_stats,) = pair.a.tunnel.peer_stats()
    (b_stats,) = pair.b.tunnel.peer_stats()
    assert a_stats.public_key == pair.b_key.public_key()
    assert a_stats.endpoint == B_ENDPOINT and b_stats.endpoint == A_ENDPOINT
    assert a_stats.last_handshake == pair.wall_time()
    assert a_stats.tx_bytes == sum(len(d) for d in pair.a.sent) == b_stats.rx_bytes
    assert b_stats.tx_bytes == sum(len(d) for d in pair.b.sent) == a_stats.rx_bytes
    assert a_stats.drops == {} and a_stats.queued_packets == 0


def test_unroutable_and_malformed_packets_from_the_tun():
    pair = PeerPair()
    out = pair.a.tunnel.send_packet(udp4(A_ADDRESS, 1, "10.77.0.200", 2, b"x"), pair.now)
    assert out == [Dropped("no_route", None)]
    assert pair.a.tunnel.send_packet(b"", pair.now) == [Dropped("invalid_packet", None)]
    assert pair.a.tunnel.send_packet(b"\x45" * 10, pair.now) == [Dropped("invalid_packet", None)]


def test_ipv6_inner_packets():
    pair = PeerPair()
    a = pair.a.tunnel
    b = pair.b.tunnel
    a.remove_peer(pair.b_key.public_key())
    b.remove_peer(pair.a_key.public_key())
    a.add_peer(
        PeerConfig(pair.b_key.public_key(), endpoint=B_ENDPOINT, allowed_ips=["fd77::2/128"])
    )
    b.add_peer(PeerConfig(pair.a_key.public_key(), allowed_ips=["fd77::1/128"]))
    pair.send(pair.a, ipv6("fd77::1", "fd77::2", 17, b"\x00\x01\x00\x02\x00\x0c\x00\x00v6ok"))
    assert pair.b.delivered and pair.b.delivered[0].endswith(b"v6ok")
    assert len(pair.b.delivered[0]) == 40 + 12  # the padding is gone


def test_two_peers_routed_by_allowed_ips():
    rng = random.Random(42)
    hub_key, k1, k2 = (PrivateKey.generate(rng.randbytes) for _ in range(3))
    now = 50.0
    ep_hub, ep1, ep2 = ("198.51.100.10", 1), ("198.51.100.11", 1), ("198.51.100.12", 1)
    hub = Tunnel(
        hub_key,
        [
            PeerConfig(k1.public_key(), endpoint=ep1, allowed_ips=["10.77.0.0/24"]),
            PeerConfig(k2.public_key(), endpoint=ep2, allowed_ips=["10.77.0.5/32", "fd77::/64"]),
        ],
        now=now,
        randbytes=rng.randbytes,
        wall_time=lambda: WALL_EPOCH,
    )
    spokes = {
        ep1: Tunnel(
            k1,
            [PeerConfig(hub_key.public_key(), allowed_ips=["10.77.0.100/32"])],
            now=now,
            randbytes=rng.randbytes,
            wall_time=lambda: WALL_EPOCH,
        ),
        ep2: Tunnel(
            k2,
            [PeerConfig(hub_key.public_key(), allowed_ips=["10.77.0.100/32"])],
            now=now,
            randbytes=rng.randbytes,
            wall_time=lambda: WALL_EPOCH,
        ),
    }
    delivered: dict = {ep1: [], ep2: []}

    def run(outputs, origin):
        queue = [(origin, outputs)]
        while queue:
            where, outs = queue.pop(0)
            for out in outs:
                if isinstance(out, Transmit):
                    target = hub if out.endpoint != ep_hub else None
                    if where == ep_hub:
                        queue.append(
                            (
                                out.endpoint,
                                spokes[out.endpoint].receive_datagram(out.data, ep_hub, now),
                            )
                        )
                    else:
                        assert target is hub or out.endpoint == ep_hub
                        queue.append((ep_hub, hub.receive_datagram(out.data, where, now)))
                elif isinstance(out, Deliver) and where != ep_hub:
                    delivered[where].append(out.packet)

    run(hub.send_packet(udp4("10.77.0.100", 1, "10.77.0.5", 2, b"to five"), now), ep_hub)
    run(hub.send_packet(udp4("10.77.0.100", 1, "10.77.0.9", 2, b"to nine"), now), ep_hub)
    assert [p[28:] for p in delivered[ep2]] == [b"to five"]  # the /32 wins over the /24
    assert [p[28:] for p in delivered[ep1]] == [b"to nine"]
    # Inbound: peer 1 may not use peer 2's address as source.
    out = spokes[ep1].send_packet(udp4("10.77.0.5", 1, "10.77.0.100", 2, b"spoof"), now)
    hub_out = hub.receive_datagram(out[0].data, ep1, now)
    assert hub_out == [Dropped("disallowed_source", k1.public_key())]


def test_misuse_raises():
    pair = PeerPair()
    with pytest.raises(ValueError):
        pair.a.tunnel.add_peer(PeerConfig(pair.b_key.public_key()))
    with pytest.raises(ValueError):
        pair.a.tunnel.add_peer(PeerConfig(pair.a_key.public_key()))
    with pytest.raises(TypeError):
        Tunnel(b"x" * 32, [], now=0, randbytes=bytes, wall_time=float)  # type: ignore[arg-type]
    with pytest.raises(KeyError):
        pair.a.tunnel.set_endpoint(PrivateKey(bytes(range(32))).public_key(), None)


def test_next_deadline_is_none_when_idle_and_set_when_waiting():
    pair = PeerPair()
    assert pair.a.tunnel.next_deadline() is None
    pair.link_filter = lambda origin, data: []
    pair.send_udp(pair.a, b"x")
    deadline = pair.a.tunnel.next_deadline()
    assert deadline is not None
    assert pair.now + REKEY_TIMEOUT <= deadline <= pair.now + REKEY_TIMEOUT + 1 / 3
    assert pair.a.tunnel.handle_timer(pair.now) == []  # nothing due yet


def test_under_load_a_source_with_a_cookie_is_still_rate_limited():
    pair = PeerPair(under_load_threshold=0)
    pair.send_udp(pair.a, b"x")
    pair.advance(REKEY_TIMEOUT + 1)
    assert pair.a.completed == 1
    with_mac2 = pair.a.sent[1]
    assert with_mac2[0] == 1 and with_mac2[-16:] != bytes(16)
    for _ in range(8):  # all at one instant: the bucket (burst 5) runs dry
        pair.inject(pair.b, with_mac2)
    reasons = pair.b.drop_reasons()
    assert reasons.count("handshake_replay") == 5
    assert reasons[-3:] == ["rate_limited"] * 3
    pair.advance(1)  # the bucket refills: the (replayed) message reaches Noise again
    pair.inject(pair.b, with_mac2)
    assert pair.b.drop_reasons()[-1] == "handshake_replay"


def test_a_ping_pong_does_not_draw_entropy_per_packet():
    # Sending data after receiving some sets a jittered timer; the jitter comes from a
    # pool, so the data path makes no randbytes call (a system call) for every packet.
    pair = PeerPair()
    pair.send_udp(pair.a, b"first")
    calls = []
    randbytes = pair.a.tunnel._randbytes
    pair.a.tunnel._randbytes = lambda n: calls.append(n) or randbytes(n)
    for _ in range(100):
        pair.send_udp(pair.a, b"ping")
        pair.send_udp(pair.b, b"pong")
    assert len(pair.b.delivered) == 101 and len(pair.a.delivered) == 100
    assert len(calls) <= 100 // 32 + 1

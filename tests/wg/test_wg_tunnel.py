"""Two Tunnels over an in-memory link with a fake clock (wgpair.PeerPair)."""

from __future__ import annotations

import itertools
import random
import struct

import pytest
from wgpackets import ipv6, udp4
from wgpair import A_ADDRESS, A_ENDPOINT, B_ADDRESS, B_ENDPOINT, WALL_EPOCH, PeerPair

from wirecage.wg.constants import (
    COOKIE_REFRESH_TIME,
    KEEPALIVE_TIMEOUT,
    MAX_STAGED_PACKETS,
    MAX_TIMER_HANDSHAKES,
    REJECT_AFTER_MESSAGES,
    REJECT_AFTER_TIME,
    REKEY_AFTER_MESSAGES,
    REKEY_ATTEMPT_TIME,
    REKEY_ON_RECEIVE_AGE,
    REKEY_TIMEOUT,
)
from wirecage.wg.cookie import CookieChecker, CookieGenerator, RateLimiter
from wirecage.wg.keypair import Keypair
from wirecage.wg.keys import PresharedKey, PrivateKey, PublicKey
from wirecage.wg.messages import COOKIE_REPLY, CookieReply
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


def record_initiations(pair: PeerPair) -> list[tuple[str, float]]:
    """Who sent each initiation that crosses the link, and when (seconds from now)."""
    start = pair.now
    seen: list[tuple[str, float]] = []

    def watch(origin, data: bytes) -> list[bytes]:
        if data[0] == 1:
            seen.append((origin.name, pair.now - start))
        return [data]

    pair.link_filter = watch
    return seen


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
    initiations = record_initiations(pair)
    pair.send_udp(pair.a, b"start")
    first = transport_receivers(pair.a.sent)[-1]
    for _ in range(13):  # traffic both ways every 10 s, for 130 s
        pair.advance(10)
        pair.send_udp(pair.a, b"ping")
        pair.send_udp(pair.b, b"pong")
    # Not at 120 s (the session must be older than REKEY_AFTER_TIME), at the first packet
    # sent after that.
    assert initiations == [("a", 0.0), ("a", 130.0)]
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
    # wireguard-go and the kernel: the first initiation, MAX_TIMER_HANDSHAKES + 1 retries,
    # and giving up when the next retransmission falls due.
    assert len(initiation_times) == MAX_TIMER_HANDSHAKES + 2
    attempts = MAX_TIMER_HANDSHAKES + 2
    assert (
        REKEY_ATTEMPT_TIME < attempts * REKEY_TIMEOUT <= gave_up <= attempts * (REKEY_TIMEOUT + 1)
    )
    assert pair.a.timed_out == 1
    assert pair.a.drop_reasons() == ["handshake_gave_up"]
    assert pair.a.tunnel.queued_packets() == 0
    assert pair.a.tunnel.peer_stats()[0].drops == {"handshake_gave_up": 1}
    # After giving up, nothing more is sent until there is new traffic.
    sent = len(pair.a.sent)
    pair.advance(60)
    assert len(pair.a.sent) == sent


def test_a_late_response_to_the_last_initiation_is_taken_after_giving_up():
    def run(late: float) -> PeerPair:
        pair = PeerPair()
        held: list[bytes] = []

        def only_the_last_initiation(origin, data: bytes) -> list[bytes]:
            if origin is pair.a and data[0] == 1:
                initiations = sum(1 for d in pair.a.sent if d[0] == 1)
                return [data] if initiations == MAX_TIMER_HANDSHAKES + 2 else []
            if origin is pair.b and data[0] == 2:
                held.append(data)  # b's response is delayed
                return []
            return [data]

        pair.link_filter = only_the_last_initiation
        pair.send_udp(pair.a, b"lost")
        while not pair.a.timed_out:
            pair.advance(0.5)
        assert pair.a.drop_reasons() == ["handshake_gave_up"] and len(held) == 1
        pair.advance(late)
        pair.link_filter = None
        pair.inject(pair.a, held[0])
        return pair

    # A few seconds after giving up, the response still makes a session (as wireguard-go).
    pair = run(late=REKEY_TIMEOUT)
    assert pair.a.completed == 1 and pair.b.completed == 1
    assert pair.a.tunnel.has_session(pair.b_key.public_key(), pair.now)
    assert pair.a.drop_reasons() == ["handshake_gave_up"]
    # Once the keys are zeroed (3 × REJECT_AFTER_TIME after giving up), it is forgotten.
    pair = run(late=3 * REJECT_AFTER_TIME + 1)
    assert pair.a.completed == 0
    assert pair.a.drop_reasons() == ["handshake_gave_up", "unknown_index"]


def test_initiations_are_rate_limited():
    pair = PeerPair()
    pair.link_filter = lambda origin, data: [] if origin is pair.a else [data]
    for _ in range(10):
        pair.send_udp(pair.a, b"x")
        pair.advance(0.3)
    assert [d[0] for d in pair.a.sent] == [1]
    assert pair.a.tunnel.queued_packets() == 10


def cross_initiations(pair: PeerPair) -> None:
    """a initiates at t0, b at t0 + 1; both initiations arrive at t0 + 2, before either
    response: each side answers the other's and abandons its own, so both responses find
    no handshake."""
    held: list = []
    pair.link_filter = lambda origin, data: (held.append((origin, data)), [])[1]
    pair.send_udp(pair.a, b"from a")
    pair.advance(1)
    pair.send_udp(pair.b, b"from b")
    pair.advance(1)
    assert [(origin.name, data[0]) for origin, data in held] == [("a", 1), ("b", 1)]
    answers = [
        (
            pair.other(origin),
            pair.other(origin).tunnel.receive_datagram(data, origin.endpoint, pair.now),
        )
        for origin, data in held
    ]
    pair.link_filter = None
    for side, outputs in answers:
        pair.process(side, outputs)
    assert pair.a.drop_reasons() == pair.b.drop_reasons() == ["unknown_index"]
    assert pair.a.completed == pair.b.completed == 0


def test_crossed_initiations_are_retried_when_the_rate_limit_allows():
    pair = PeerPair(b_knows_a_endpoint=True)
    cross_initiations(pair)
    crossed = pair.now
    # Both sides' retransmissions fell due within REKEY_TIMEOUT of the response each sent;
    # they go out once REKEY_TIMEOUT has passed since it, not when the keys are zeroed.
    pair.advance(REKEY_TIMEOUT + 1)
    assert [p[28:] for p in pair.b.delivered] == [b"from a"]
    assert [p[28:] for p in pair.a.delivered] == [b"from b"]
    assert pair.a.completed >= 1 and pair.b.completed >= 1
    assert pair.a.tunnel.queued_packets() == pair.b.tunnel.queued_packets() == 0
    # One more initiation was enough (the first retry to fall due wins).
    assert sum(1 for d in pair.a.sent + pair.b.sent if d[0] == 1) == 3
    assert pair.now - crossed <= REKEY_TIMEOUT + 1


def test_crossed_initiations_still_give_up_after_as_many_retries():
    pair = PeerPair(b_knows_a_endpoint=True)
    cross_initiations(pair)
    pair.link_filter = lambda origin, data: []  # then the link dies
    pair.advance(3 * REKEY_ATTEMPT_TIME)
    # A retry the rate limit deferred is not an attempt: each side sends the first
    # initiation and MAX_TIMER_HANDSHAKES + 1 retries, as without the crossing.
    for side in (pair.a, pair.b):
        assert sum(1 for d in side.sent if d[0] == 1) == MAX_TIMER_HANDSHAKES + 2
        assert side.timed_out == 1
        assert side.drop_reasons() == ["unknown_index", "handshake_gave_up"]


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
    assert pair.a.tunnel.has_session(pair.b_key.public_key(), pair.now)
    pair.advance(3 * REJECT_AFTER_TIME - 1)
    # The session expired long ago, but its keys are still there: an old datagram is
    # refused as expired, not as unknown.
    pair.inject(pair.b, pair.a.sent[-1])
    assert pair.b.drop_reasons()[-1] == "session_expired"
    pair.advance(2)
    assert not pair.a.tunnel.has_session(pair.b_key.public_key(), pair.now)
    assert not pair.b.tunnel.has_session(pair.a_key.public_key(), pair.now)
    # A datagram of the old session is now unknown.
    pair.inject(pair.b, pair.a.sent[-1])
    assert pair.b.drop_reasons()[-1] == "unknown_index"
    # New traffic starts a new handshake.
    pair.send_udp(pair.a, b"again")
    assert pair.b.delivered[-1][28:] == b"again" and pair.a.completed == 2


def test_has_session_only_while_a_packet_would_go_out_at_once():
    pair = PeerPair()
    to_b, to_a = pair.b_key.public_key(), pair.a_key.public_key()
    assert not pair.a.tunnel.has_session(to_b, pair.now)
    pair.link_filter = lambda origin, data: [] if len(data) == 32 else [data]
    pair.handshake()  # a's confirming keepalive is lost
    assert pair.a.tunnel.has_session(to_b, pair.now)
    assert not pair.b.tunnel.has_session(to_a, pair.now)  # b's session is still `next`
    pair.link_filter = None
    pair.send_udp(pair.a, b"confirm")
    assert pair.b.tunnel.has_session(to_a, pair.now)
    # The message limit: the last counter the session may use, then none.
    session = current_session(pair.a.tunnel, to_b)
    session.send_counter = REJECT_AFTER_MESSAGES - 1
    assert pair.a.tunnel.has_session(to_b, pair.now)
    session.send_counter = REJECT_AFTER_MESSAGES
    assert not pair.a.tunnel.has_session(to_b, pair.now)
    # REJECT_AFTER_TIME: b's session (whose keys stay for 3 × REJECT_AFTER_TIME) ends.
    expiry = current_session(pair.b.tunnel, to_a).created + REJECT_AFTER_TIME
    assert pair.b.tunnel.has_session(to_a, expiry - 0.001)
    assert not pair.b.tunnel.has_session(to_a, expiry)
    # No endpoint, nowhere to send.
    pair.b.tunnel.set_endpoint(to_a, None)
    assert not pair.b.tunnel.has_session(to_a, pair.now)


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


class CountingDict(dict):
    """A dict that counts how often it is walked from end to end."""

    scans = 0

    def items(self):
        self.scans += 1
        return super().items()


def test_the_rate_limiter_stays_bounded_and_sweeps_once_a_second_under_a_flood():
    limiter = RateLimiter()
    table = CountingDict()
    limiter._buckets = table
    cap = RateLimiter.MAX_ENTRIES
    start = 100.0
    honest = ("192.0.2.1", 51820)
    assert limiter.allow(honest, start)
    # Three times the cap of distinct /64s, all within a quarter of a second: the table
    # fills, then new sources are refused, with no walk over the table per insert.
    flood = [(f"2001:db8:{i >> 16:x}:{i & 0xFFFF:x}::1", 1) for i in range(3 * cap)]
    admitted = [limiter.allow(src, start + 0.25 * i / len(flood)) for i, src in enumerate(flood)]
    assert sum(admitted) == cap - 1 and all(admitted[: cap - 1])
    assert len(table) == cap
    assert table.scans <= 1
    # A source already in the table keeps its bucket: 3 tokens refilled at 20/s, then dry.
    assert [limiter.allow(honest, start + 0.5) for _ in range(6)] == [True] * 5 + [False]
    # A second later the sweep forgets the flood, idle for more than a second, and keeps
    # the source used half a second ago; a new source finds room.
    assert limiter.allow(("192.0.2.2", 1), start + 1.3)
    assert table.scans == 2
    assert set(table) == {bytes([192, 0, 2, 1]), bytes([192, 0, 2, 2])}
    # A flood that goes on: the table never passes the cap, one sweep a second.
    for step in range(500):
        now = start + 2 + step / 100
        limiter.allow((f"2001:db8:1:{step:x}::1", 1), now)
        limiter.allow((f"2001:db8:2:{step:x}::1", 1), now)
        assert len(table) <= cap
    assert table.scans == 2 + 5


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


# -- message limits, the last-minute rekey, cookies both ways, and other corners ------------


def current_session(tunnel: Tunnel, peer: PublicKey) -> Keypair:
    keypair = tunnel._peers[peer.raw].current
    assert keypair is not None
    return keypair


def transport_counters(datagrams: list[bytes]) -> list[int]:
    return [struct.unpack_from("<Q", d, 8)[0] for d in datagrams if d[0] == 4]


def test_rekey_after_rekey_after_messages_even_as_responder():
    pair = PeerPair()
    pair.send_udp(pair.a, b"start")
    pair.send_udp(pair.b, b"back")
    pair.advance(REKEY_TIMEOUT + 1)  # past the rate limit of the handshake just done
    # b is the session's responder: it never rekeys on age, but it does on the count.
    session = current_session(pair.b.tunnel, pair.a_key.public_key())
    session.send_counter = REKEY_AFTER_MESSAGES - 1
    sent = len(pair.b.sent)
    pair.send_udp(pair.b, b"the 2^60th")  # REKEY_AFTER_MESSAGES sent: not more than it yet
    assert [d[0] for d in pair.b.sent[sent:]] == [4]
    pair.send_udp(pair.b, b"one more")
    assert [d[0] for d in pair.b.sent[sent:]][:3] == [4, 4, 1]
    assert pair.b.completed == 2 and pair.a.completed == 2
    assert current_session(pair.b.tunnel, pair.a_key.public_key()) is not session
    assert [p[28:] for p in pair.a.delivered] == [b"back", b"the 2^60th", b"one more"]


def test_a_session_refuses_to_send_at_reject_after_messages():
    pair = PeerPair()
    pair.send_udp(pair.a, b"start")
    pair.advance(REKEY_TIMEOUT + 1)
    held: list[bytes] = []
    # Handshake messages are held back, so only the old session can carry data.
    pair.link_filter = lambda origin, data: (held.append(data), [])[1] if data[0] < 4 else [data]
    session = current_session(pair.a.tunnel, pair.b_key.public_key())
    session.send_counter = REJECT_AFTER_MESSAGES - 1
    sent = len(pair.a.sent)
    pair.send_udp(pair.a, b"the last one")
    pair.send_udp(pair.a, b"one too many")
    # The last counter the session may use went out (and started a rekey); then nothing.
    assert transport_counters(pair.a.sent[sent:]) == [REJECT_AFTER_MESSAGES - 1]
    assert [p[28:] for p in pair.b.delivered] == [b"start", b"the last one"]
    assert pair.a.tunnel.queued_packets() == 1
    assert session.send_counter == REJECT_AFTER_MESSAGES
    # The rekey it started completes once the link lets it: the waiting packet follows on
    # the new session.
    pair.link_filter = None
    for data in held:
        pair.inject(pair.b, data)
    assert [p[28:] for p in pair.b.delivered][-1] == b"one too many"
    assert current_session(pair.a.tunnel, pair.b_key.public_key()).send_counter < 10


def test_the_initiator_rekeys_on_receive_before_the_session_expires():
    # Only b (the responder) sends, keepalives every 5 s; a sends nothing at all, so the
    # only thing that can make a rekey is what it receives.
    pair = PeerPair(b_keepalive=5)
    initiations = record_initiations(pair)
    pair.handshake()
    pair.advance(REJECT_AFTER_TIME - 1)
    # REKEY_ON_RECEIVE_AGE is 165 s: the keepalive at exactly 165 s is not past it, the
    # one at 170 s is. The responder never initiated.
    assert REKEY_ON_RECEIVE_AGE == 165
    assert initiations == [("a", 0.0), ("a", 170.0)]
    assert pair.a.completed == 2 and pair.b.completed == 2


def test_an_initiator_under_load_gets_a_cookie_for_our_response():
    # a initiates and is itself under load: it answers b's response with a cookie reply,
    # which b must take (its index names b's new, unconfirmed session).
    pair = PeerPair(a_under_load_threshold=0)
    pair.send_udp(pair.a, b"busy here")
    assert [len(d) for _, d in pair.wire_log] == [148, 92, 64]
    assert pair.a.drop_reasons() == ["cookie_sent"]
    assert pair.b.dropped == []
    pair.advance(REKEY_TIMEOUT + 1)  # a retransmits; b's new response carries mac2
    responses = [d for d in pair.b.sent if d[0] == 2]
    assert len(responses) == 2
    assert responses[0][-16:] == bytes(16) and responses[1][-16:] != bytes(16)
    assert pair.a.completed == 1 and pair.b.completed == 1
    assert [p[28:] for p in pair.b.delivered] == [b"busy here"]


def test_cookie_secret_changes_every_cookie_refresh_time():
    rng = random.Random(9)
    responder = PrivateKey.generate(rng.randbytes).public_key().raw
    checker, generator = CookieChecker(responder), CookieGenerator(responder)
    src, elsewhere = ("198.51.100.1", 51820), ("198.51.100.1", 51821)
    body = bytes(range(116)) + bytes(32)  # the first 116 bytes of an initiation, then MACs

    def take_cookie(now: float) -> None:
        message = generator.add_macs(body, now)
        reply = checker.create_reply(message, 7, src, now, rng.randbytes)
        _, receiver, nonce, sealed = COOKIE_REPLY.unpack(reply)
        assert generator.consume_reply(CookieReply(receiver, nonce, sealed), now)

    take_cookie(0.0)
    with_cookie = generator.add_macs(body, 1.0)
    assert with_cookie[-16:] != bytes(16)
    assert checker.check_mac2(with_cookie, src, 1.0)
    assert not checker.check_mac2(with_cookie, elsewhere, 1.0)  # bound to the source
    assert checker.check_mac2(with_cookie, src, COOKIE_REFRESH_TIME - 1)
    # The secret retires after COOKIE_REFRESH_TIME; the next reply draws a new one, and a
    # mac2 made from the old cookie is worthless under it.
    assert not checker.check_mac2(with_cookie, src, COOKIE_REFRESH_TIME + 1)
    take_cookie(COOKIE_REFRESH_TIME + 1)
    assert not checker.check_mac2(with_cookie, src, COOKIE_REFRESH_TIME + 2)
    fresh = generator.add_macs(body, COOKIE_REFRESH_TIME + 2)
    assert checker.check_mac2(fresh, src, COOKIE_REFRESH_TIME + 2)
    # The initiator stops using a cookie a little before the responder's secret retires.
    late = COOKIE_REFRESH_TIME + 1 + COOKIE_REFRESH_TIME - REKEY_TIMEOUT
    assert generator.add_macs(body, late)[-16:] == bytes(16)


def test_a_response_to_a_replaced_initiation_is_refused():
    pair = PeerPair()
    held: list[bytes] = []
    pair.link_filter = lambda origin, data: (
        (held.append(data), [])[1] if origin is pair.b else [data]
    )
    pair.send_udp(pair.a, b"x")  # initiation 1 reaches b; its response is held
    pair.advance(REKEY_TIMEOUT + 1)  # initiation 2, with a new index; response held too
    first, second = [d for d in held if d[0] == 2]
    pair.link_filter = None
    pair.inject(pair.a, first)
    assert pair.a.drop_reasons() == ["unknown_index"] and pair.a.completed == 0
    pair.inject(pair.a, second)
    assert pair.a.completed == 1 and [p[28:] for p in pair.b.delivered] == [b"x"]
    pair.inject(pair.a, second)  # a duplicate of the response that worked
    assert pair.a.drop_reasons() == ["unknown_index", "unknown_index"]
    assert pair.a.completed == 1


@pytest.mark.parametrize(
    ("length", "mtu", "padded"),
    [
        (100, None, 112),
        (1415, None, 1424),
        (100, 1420, 112),
        (1404, 1420, 1408),
        (1415, 1420, 1420),
        (1420, 1420, 1420),
    ],
)
def test_padding_to_sixteen_stops_at_the_mtu(length, mtu, padded):
    pair = PeerPair(a_mtu=mtu)
    pair.handshake()
    packet = udp4(A_ADDRESS, 1, B_ADDRESS, 2, bytes(length - 28))
    (out,) = pair.a.tunnel.send_packet(packet, pair.now)
    assert isinstance(out, Transmit)
    assert len(out.data) == 16 + padded + 16
    pair.inject(pair.b, out.data)
    assert pair.b.delivered == [packet]  # the padding is gone again


def test_data_flushed_by_key_confirmation_still_expects_an_answer():
    pair = PeerPair()
    pair.link_filter = lambda origin, data: [] if len(data) == 32 else [data]
    pair.handshake()  # a's confirming keepalive is lost
    pair.send_udp(pair.b, b"early")  # waits in b's queue for key confirmation
    pair.link_filter = None
    pair.send_udp(pair.a, b"confirm")  # confirms b's session, which flushes b"early"
    assert [p[28:] for p in pair.a.delivered] == [b"early"]
    pair.link_filter = lambda origin, data: [] if origin is pair.a else [data]  # a falls silent
    sent = len(pair.b.sent)
    pair.advance(KEEPALIVE_TIMEOUT + REKEY_TIMEOUT + 1)
    # b's data went unanswered: its new_handshake timer starts a handshake.
    assert [d[0] for d in pair.b.sent[sent:]] == [4, 1]


def test_new_traffic_keeps_the_handshake_going_past_rekey_attempt_time():
    pair = PeerPair()
    pair.link_filter = lambda origin, data: [] if origin is pair.a else [data]
    for _ in range(6):  # a packet every 30 s for 180 s; each starts the attempts afresh
        pair.send_udp(pair.a, b"still there?")
        pair.advance(30)
    assert pair.a.timed_out == 0 and pair.a.tunnel.queued_packets() == 6
    pair.advance(REKEY_ATTEMPT_TIME + 20)  # then silence: a gives up
    assert pair.a.timed_out == 1
    assert pair.a.drop_reasons() == ["handshake_gave_up"] * 6


def test_a_keepalive_waiting_for_a_session_is_not_counted_as_a_dropped_packet():
    pair = PeerPair(a_keepalive=25)
    pair.handshake()
    pair.link_filter = lambda origin, data: []  # then the link dies
    # Once the session has expired, each persistent keepalive waits in the queue for a new
    # one, which never comes: a gives up, and later forgets every key, with only that
    # keepalive queued. Neither drops a packet of the caller's.
    pair.advance(3 * REJECT_AFTER_TIME + 60)
    assert pair.a.timed_out >= 1 and not pair.a.tunnel.has_session(
        pair.b_key.public_key(), pair.now
    )
    assert pair.a.dropped == [] and pair.a.tunnel.peer_stats()[0].drops == {}


FORBIDDEN_IN_THE_CORE = {"time", "os", "random", "secrets", "datetime", "socket", "select"}


def test_the_core_imports_no_clock_no_entropy_and_no_io():
    import ast
    from pathlib import Path

    import wirecage.wg

    problems = []
    for path in sorted(Path(wirecage.wg.__file__).parent.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            problems += [
                f"{path.name}: {n}" for n in names if n.split(".")[0] in FORBIDDEN_IN_THE_CORE
            ]
    assert problems == []


def test_the_core_never_calls_a_clock_or_os_urandom(monkeypatch):
    import os
    import time

    def forbidden(*args):
        raise AssertionError("the core read a clock or the OS random source")

    pair = PeerPair(under_load_threshold=0, a_keepalive=7)
    for name in ("time", "monotonic", "perf_counter", "clock_gettime", "time_ns"):
        monkeypatch.setattr(time, name, forbidden)
    monkeypatch.setattr(os, "urandom", forbidden)
    pair.send_udp(pair.a, b"cookie first")
    pair.advance(REKEY_TIMEOUT + 1)
    pair.send_udp(pair.b, b"back")
    pair.advance(REJECT_AFTER_TIME * 4)
    monkeypatch.undo()
    assert pair.a.completed >= 2 and [p[28:] for p in pair.b.delivered][0] == b"cookie first"


def test_an_entropy_source_that_repeats_itself_is_misuse_not_a_hang():
    pair = PeerPair()
    pair.a.tunnel._randbytes = bytes  # zeros: every index drawn is 0
    pair.handshake()  # the session's index is 0; the next handshake cannot find a free one
    with pytest.raises(RuntimeError):
        pair.a.tunnel.initiate_handshakes(pair.now + REKEY_TIMEOUT + 1)

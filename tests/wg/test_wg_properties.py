"""Property tests: hostile input never raises and never delivers; the replay window and
AllowedIPs agree with simple reference models."""

from __future__ import annotations

import ipaddress

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from wgpair import PeerPair

from wirecage.wg import messages
from wirecage.wg.allowedips import AllowedIPs
from wirecage.wg.constants import REJECT_AFTER_MESSAGES
from wirecage.wg.replay import WINDOW_SIZE, ReplayWindow
from wirecage.wg.tunnel import Deliver, Dropped, HandshakeCompleted, Transmit

SETTINGS = settings(
    derandomize=True,
    deadline=None,
    max_examples=300,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def established_pair() -> tuple[PeerPair, list[bytes]]:
    """A pair after a handshake and some data, and every datagram that crossed the link."""
    pair = PeerPair(seed=3)
    pair.send_udp(pair.a, b"first")
    pair.send_udp(pair.b, b"second")
    pair.send_udp(pair.a, b"third" * 100)
    return pair, [d for _, d in pair.wire_log]


PAIR, GENUINE = established_pair()


def only_harmless(outputs) -> bool:
    for out in outputs:
        if isinstance(out, Deliver | HandshakeCompleted):
            return False
        if isinstance(out, Transmit) and out.data[0] != 3:
            # The only answer hostile input may earn is a cookie reply.
            return False
        if not isinstance(out, Transmit | Dropped):
            return False
    return True


@SETTINGS
@given(st.binary(max_size=1600))
def test_random_datagrams_never_raise_nor_deliver(data):
    for side in (PAIR.a, PAIR.b):
        outputs = side.tunnel.receive_datagram(data, ("198.51.100.9", 9), PAIR.now)
        assert only_harmless(outputs)


@SETTINGS
@given(
    st.sampled_from(range(len(GENUINE))),
    st.lists(st.tuples(st.integers(0, 2000), st.integers(1, 255)), min_size=1, max_size=4),
    st.sampled_from(["flip", "truncate", "extend"]),
)
def test_mutated_genuine_datagrams_never_raise_nor_deliver(index, flips, how):
    data = bytearray(GENUINE[index])
    if how == "truncate":
        del data[flips[0][0] % len(data) :]
    elif how == "extend":
        data += bytes(f for _, f in flips)
    else:
        for position, mask in flips:
            data[position % len(data)] ^= mask
    for side in (PAIR.a, PAIR.b):
        outputs = side.tunnel.receive_datagram(bytes(data), ("198.51.100.9", 9), PAIR.now)
        assert only_harmless(outputs)


@SETTINGS
@given(st.binary(max_size=200))
def test_parse_accepts_only_exact_sizes(data):
    parsed = messages.parse(data)
    if parsed is None:
        return
    expected = {
        messages.HandshakeInitiation: {148},
        messages.HandshakeResponse: {92},
        messages.CookieReply: {64},
    }.get(type(parsed))
    if expected is None:
        assert len(data) >= 32 and data[:4] == b"\x04\0\0\0"
    else:
        assert len(data) in expected
    assert parsed.pack() == data


def test_type_word_must_have_zero_reserved_bytes():
    assert messages.message_type(b"\x01\x00\x00\x00" + bytes(144)) == 1
    assert messages.message_type(b"\x01\x00\x01\x00" + bytes(144)) is None
    assert messages.message_type(b"\x01\x00\x00\x00" + bytes(145)) is None
    assert messages.message_type(b"\x04\x00\x00\x00" + bytes(27)) is None
    assert messages.message_type(b"\x05\x00\x00\x00" + bytes(60)) is None


class ReferenceWindow:
    """The obvious model: a set of seen counters and the highest one."""

    def __init__(self):
        self.seen: set[int] = set()
        self.last = 0

    def accept(self, counter: int) -> bool:
        if counter in self.seen or (counter <= self.last and self.last - counter > WINDOW_SIZE):
            return False
        self.seen.add(counter)
        self.last = max(self.last, counter)
        return True


@SETTINGS
@given(
    st.lists(
        st.one_of(
            st.integers(0, 200),
            st.integers(0, 3 * WINDOW_SIZE),
            st.integers(0, 2**40),
        ),
        max_size=300,
    )
)
def test_replay_window_matches_reference_model(counters):
    window, model = ReplayWindow(), ReferenceWindow()
    for counter in sorted(counters[: len(counters) // 2]) + counters[len(counters) // 2 :]:
        precheck = window.may_accept(counter)
        accepted = window.accept(counter)
        assert accepted == model.accept(counter), counter
        assert precheck or not accepted  # the cheap check never refuses a good counter


# wireguard-go's replay/replay.go: a ring of 128 blocks of 64 bits, one being filled.
WIREGUARD_GO_WINDOW_SIZE = (128 - 1) * 64


def test_replay_window_is_as_large_as_wireguard_gos_and_stops_at_the_limit():
    assert WINDOW_SIZE >= WIREGUARD_GO_WINDOW_SIZE
    window = ReplayWindow()
    top = 10 * WINDOW_SIZE + 17
    assert window.accept(top)
    assert window.may_accept(top - WINDOW_SIZE) and window.accept(top - WINDOW_SIZE)
    assert not window.may_accept(top - WINDOW_SIZE - 1)
    assert not window.accept(top - WINDOW_SIZE - 1)
    # REJECT_AFTER_MESSAGES: the last counter a sender may use is one below it.
    assert not window.may_accept(REJECT_AFTER_MESSAGES)
    assert not window.accept(REJECT_AFTER_MESSAGES)
    assert window.may_accept(REJECT_AFTER_MESSAGES - 1)
    assert window.accept(REJECT_AFTER_MESSAGES - 1)
    assert not window.accept(REJECT_AFTER_MESSAGES - 1)


def test_replay_window_precheck_does_not_move_the_window():
    window = ReplayWindow()
    assert window.may_accept(10**9)
    assert window.accept(5) and window.accept(3) and not window.accept(3)


networks = st.one_of(
    st.builds(
        lambda a, n: ipaddress.IPv4Network((a, n), strict=False),
        st.integers(0, 2**32 - 1),
        st.integers(0, 32),
    ),
    st.builds(
        lambda a, n: ipaddress.IPv6Network((a, n), strict=False),
        st.integers(0, 2**128 - 1),
        st.integers(0, 128),
    ),
)


@SETTINGS
@given(
    st.lists(st.tuples(networks, st.integers(0, 5)), max_size=20),
    st.lists(st.one_of(st.integers(0, 2**32 - 1).map(ipaddress.IPv4Address)), max_size=20),
)
def test_allowed_ips_longest_prefix_matches_brute_force(routes, probes):
    table: AllowedIPs[int] = AllowedIPs()
    reference: dict = {}
    for network, value in routes:
        table.insert(network, value)
        reference[network] = value
    for network, _ in routes:
        probes.append(network.network_address)
        probes.append(network.broadcast_address)
    for address in probes:
        matching = [n for n in reference if n.version == address.version and address in n]
        expected = reference[max(matching, key=lambda n: n.prefixlen)] if matching else None
        assert table.lookup(address) == expected
        lookup = table.lookup_v4 if address.version == 4 else table.lookup_v6
        assert lookup(address.packed) == expected
    assert dict(table.entries()) == reference

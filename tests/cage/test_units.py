"""The cage's and the datapath's parts one by one, without wireguard-go."""

from __future__ import annotations

import ipaddress
import os
import random
import socket
import struct
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from topology import requires_netns
from wirecage.app.runtime import RuntimeDir
from wirecage.cage import dns, prereq
from wirecage.cage.namespaces import routes_for
from wirecage.cage.process import exit_status
from wirecage.cli.parser import build_parser
from wirecage.cli.up_cmd import parse_endpoint
from wirecage.datapath.loop import EventLoop
from wirecage.datapath.udp import UdpSockets
from wirecage.errors import UsageError
from wirecage.wg.keys import PrivateKey
from wirecage.wg.tunnel import PeerConfig, Tunnel


def _python(code: str) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a fresh interpreter that imports wirecage from this checkout."""
    src = Path(__file__).resolve().parents[2] / "src"
    return subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=dict(os.environ, PYTHONPATH=str(src)),
        timeout=60,
    )


def test_command_after_double_dash_is_taken_verbatim():
    parser = build_parser()
    args = parser.parse_args(["up", "work", "--wait", "--", "ssh", "-v", "--", "host"])
    assert (args.profile, args.wait, args.cmd) == ("work", True, ["ssh", "-v", "--", "host"])
    args = parser.parse_args(["up", "--wg-endpoint", "h:1", "--", "ls"])
    assert (args.profile, args.cmd) == (None, ["ls"])
    args = parser.parse_args(["-v", "up", "work"])
    assert (args.verbose, args.quiet, args.cmd) == (1, False, [])
    args = parser.parse_args(["up", "-q", "--debug", "work", "--", "true"])
    assert (args.quiet, args.debug) == (True, True)


def test_parse_endpoint():
    vpn = parse_endpoint("vpn.example.org:51820")
    assert (vpn.host, vpn.port) == ("vpn.example.org", 51820)
    v6 = parse_endpoint("[2001:db8::1]:443")
    assert (v6.host, v6.port) == ("2001:db8::1", 443)
    for bad in ("nohost", ":51820", "h:0", "h:70000", "h:x"):
        with pytest.raises(UsageError):
            parse_endpoint(bad)


@pytest.mark.parametrize(
    ("wait_status", "expected"),
    [(0, 0), (3 << 8, 3), (127 << 8, 127), (15, 143), (9, 137)],
)
def test_exit_status_like_env(wait_status, expected):
    assert exit_status(wait_status) == expected


def test_resolv_conf_and_nsswitch():
    text = dns.render_resolv_conf(
        [ipaddress.ip_address("10.77.0.1"), ipaddress.ip_address("fd77::1")], ["corp.test"], "work"
    )
    assert text.splitlines()[1:] == [
        "nameserver 10.77.0.1",
        "nameserver fd77::1",
        "search corp.test",
    ]
    host = "passwd: files systemd\nhosts: files mdns4_minimal [NOTFOUND=return] resolve dns\n"
    assert dns.render_nsswitch_conf(host).splitlines() == [
        "passwd: files systemd",
        "hosts:          files dns",
    ]
    assert dns.render_nsswitch_conf(None).splitlines()[-1] == "hosts:          files dns"
    resolv = "nameserver 127.0.0.53\nnameserver 10.0.0.1\nnameserver ::1\noptions edns0\n"
    assert dns.unreachable_host_nameservers(resolv) == ["127.0.0.53", "::1"]


def test_routes_one_per_distinct_prefix():
    nets = [ipaddress.ip_network(n) for n in ("::/0", "10.0.0.0/8", "0.0.0.0/0", "10.0.0.0/8")]
    assert [str(n) for n in routes_for(nets)] == ["0.0.0.0/0", "10.0.0.0/8", "::/0"]


def test_apparmor_restriction_gets_its_hint(tmp_path, monkeypatch):
    knob = tmp_path / "apparmor_restrict_unprivileged_userns"
    knob.write_text("1\n")
    monkeypatch.setattr(prereq, "APPARMOR_USERNS", knob)
    err = prereq.explain_userns_failure(PermissionError(1, "Operation not permitted"), "uid_map")
    assert err.exit_code == 125
    assert "AppArmor" in err.message
    assert "kernel.apparmor_restrict_unprivileged_userns=0" in (err.hint or "")


def test_missing_tun_device_gets_its_hint(tmp_path):
    with pytest.raises(Exception) as info:
        prereq.open_tun(str(tmp_path / "tun"))
    assert "does not exist" in str(info.value)
    assert "modprobe tun" in info.value.hint


def test_runtime_dir_sweeps_dead_cages(tmp_path):
    first = RuntimeDir.create("work", tmp_path)
    second = RuntimeDir.create("work", tmp_path)
    assert (first.name, second.name) == ("work", "work-2")
    # The second cage of a name knows it is not alone (up warns: one key, two endpoints).
    assert (first.running_before, second.running_before) == (False, True)
    first.write_info({"pid": 1})
    assert (first.path / "info.json").stat().st_mode & 0o777 == 0o600
    # A cage killed with SIGKILL leaves its directory, but not its lock.
    dead = tmp_path / "dead"
    dead.mkdir()
    (dead / "lock").touch()
    third = RuntimeDir.create("other", tmp_path)
    assert not dead.exists()
    assert first.path.exists() and second.path.exists()
    for r in (first, second, third):
        r.remove()
    assert list(tmp_path.iterdir()) == []


def test_close_fds_except_keeps_only_what_it_is_told():
    code = (
        "import os\n"
        "from wirecage.cage.namespaces import close_fds_except\n"
        "a, b = os.pipe(); c, d = os.pipe(); e = os.dup(a)\n"
        "close_fds_except([b, c])\n"
        "def is_open(fd):\n"
        "    try:\n"
        "        os.fstat(fd)\n"
        "        return True\n"
        "    except OSError:\n"
        "        return False\n"
        "print([is_open(fd) for fd in (0, 1, 2, a, b, c, d, e)])\n"
    )
    out = _python(code)
    assert out.returncode == 0, out.stderr
    out = out.stdout
    assert out.strip() == "[True, True, True, False, True, True, False, False]"


@requires_netns
def test_netlink_reports_the_failing_step():
    """In a fresh network namespace: configure a TUN, then add the same route twice."""
    code = r"""
import ipaddress, os
from wirecage.cage import libc
from wirecage.cage.namespaces import NetworkPlan, configure_network
from wirecage.cage.netlink import NetlinkError, Rtnetlink
libc.unshare(libc.CLONE_NEWNET)
plan = NetworkPlan("wgtest0", 1380, [ipaddress.ip_interface("10.77.0.2/32")],
                   [ipaddress.ip_network("10.77.0.0/24")])
tun = configure_network(os.open("/dev/net/tun", os.O_RDWR), plan)
print(plan.steps)
try:
    with Rtnetlink() as rtnl:
        rtnl.add_route(tun.index, ipaddress.ip_network("10.77.0.0/24"))
except NetlinkError as e:
    print("error:", e.errno, e.what)
os.system("ip -o addr show dev wgtest0; ip route")
"""
    out = _python(code)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert "lo up" in lines[0] and "route 10.77.0.0/24 dev wgtest0" in lines[0]
    assert lines[1].startswith("error: 17 add route 10.77.0.0/24 via link")
    assert "inet 10.77.0.2/32" in out.stdout and "noprefixroute" in out.stdout
    assert "10.77.0.0/24 dev wgtest0" in out.stdout


@requires_netns
def test_the_tun_device_outlives_its_descriptor():
    """Persistent: closing the descriptor (fast) leaves it to the namespace to remove it."""
    code = r"""
import os, socket
from wirecage.cage import libc
from wirecage.cage.tun import TunDevice
libc.unshare(libc.CLONE_NEWNET)
tun = TunDevice(os.open("/dev/net/tun", os.O_RDWR), "wgtest1")
tun.close()
print(socket.if_nametoindex("wgtest1") == tun.index)
"""
    out = _python(code)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["True"]


def test_a_literal_endpoint_is_not_resolved(monkeypatch):
    from wirecage.app.endpoints import resolve_endpoint
    from wirecage.profiles.model import Endpoint, Peer

    def no_lookup(*args, **kwargs):
        raise AssertionError("getaddrinfo called for a literal address")

    monkeypatch.setattr(socket, "getaddrinfo", no_lookup)
    peer = Peer(PrivateKey(bytes(range(32))).public_key())
    assert resolve_endpoint(peer, Endpoint("198.51.100.1", 51820)) == ("198.51.100.1", 51820)
    # Written the way recvfrom writes the source of a datagram.
    assert resolve_endpoint(peer, Endpoint("2001:DB8:0::1", 443)) == ("2001:db8::1", 443)


def test_udp_receives_one_datagram_then_drains_the_rest():
    udp = UdpSockets.open([socket.AF_INET])
    try:
        (fd,) = udp.fds()
        port = udp.local_ports()[socket.AF_INET]
        assert udp.receive(fd) is None
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender:
            sender.bind(("127.0.0.1", 0))
            for data in (b"one", b"two", b"three"):
                sender.sendto(data, ("127.0.0.1", port))
            here = ("127.0.0.1", sender.getsockname()[1])
            assert udp.receive(fd) == (b"one", here)
            assert udp.drain(fd) == [(b"two", here), (b"three", here)]
        assert udp.receive(fd) is None
    finally:
        udp.close()


def _ipv4_packet(src: str, dst: str, payload: bytes) -> bytes:
    header = struct.pack(
        "!BBHHHBBH4s4s",
        0x45,
        0,
        20 + len(payload),
        0,
        0,
        64,
        17,
        0,
        socket.inet_aton(src),
        socket.inet_aton(dst),
    )
    return header + payload


def test_event_loop_carries_packets_between_two_tunnels():
    """Two EventLoops, each with a socketpair for a TUN device, over loopback UDP."""
    rnd = random.Random(7)
    key_a, key_b = PrivateKey.generate(rnd.randbytes), PrivateKey.generate(rnd.randbytes)
    udp_a = UdpSockets.open([socket.AF_INET])
    udp_b = UdpSockets.open([socket.AF_INET])
    port_b = udp_b.local_ports()[socket.AF_INET]
    loops, tuns, stops = [], [], []
    for key, peer_key, endpoint, udp, allowed in (
        (key_a, key_b, ("127.0.0.1", port_b), udp_a, "10.77.0.1/32"),
        (key_b, key_a, None, udp_b, "10.77.0.2/32"),
    ):
        inside, outside = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
        inside.setblocking(False)
        tunnel = Tunnel(
            key,
            [PeerConfig(peer_key.public_key(), endpoint=endpoint, allowed_ips=(allowed,))],
            now=0.0,
            randbytes=rnd.randbytes,
            wall_time=lambda: 1.7e9,
        )
        loop = EventLoop(tunnel, inside.fileno(), udp)
        stop_r, stop_w = os.pipe()
        loop.add_reader(stop_r, lambda loop=loop: loop.stop(0))
        loops.append(loop)
        tuns.append((inside, outside))
        stops.append(stop_w)
    threads = [threading.Thread(target=loop.run, daemon=True) for loop in loops]
    for t in threads:
        t.start()
    try:
        outside_a, outside_b = tuns[0][1], tuns[1][1]
        outside_b.settimeout(60)
        outside_a.settimeout(60)
        sent = [_ipv4_packet("10.77.0.2", "10.77.0.1", bytes([i]) * (i * 7)) for i in range(20)]
        for packet in sent:
            outside_a.send(packet)
        got = [outside_b.recv(65535) for _ in sent]
        assert got == sent  # in order, complete, after the handshake
        reply = _ipv4_packet("10.77.0.1", "10.77.0.2", b"back")
        outside_b.send(reply)
        assert outside_a.recv(65535) == reply
    finally:
        for w in stops:
            os.write(w, b"x")
        for t in threads:
            t.join(timeout=30)
        for loop in loops:
            loop.close()
        for udp in (udp_a, udp_b):
            udp.close()
        for pair in tuns:
            for s in pair:
                s.close()
    assert not any(t.is_alive() for t in threads)


@pytest.mark.parametrize(("ipv6", "expected"), [(False, 1220), (True, 1280)])
def test_the_automatic_mtu_never_goes_below_what_the_addresses_need(monkeypatch, ipv6, expected):
    from wirecage.app import endpoints

    monkeypatch.setattr(endpoints, "path_mtu", lambda address: 1300)
    assert endpoints.choose_mtu(None, [("192.0.2.1", 51820)], ipv6=ipv6) == expected
    monkeypatch.setattr(endpoints, "path_mtu", lambda address: 1500)
    assert endpoints.choose_mtu(None, [("192.0.2.1", 51820)], ipv6=ipv6) == 1420
    assert endpoints.choose_mtu(1300, [("192.0.2.1", 51820)], ipv6=ipv6) == 1300  # the profile's


def test_a_timer_far_in_the_future_does_not_overflow_the_poll():
    rnd = random.Random(3)
    key = PrivateKey.generate(rnd.randbytes)
    tunnel = Tunnel(key, [], now=0.0, randbytes=rnd.randbytes, wall_time=lambda: 1.7e9)
    inside, outside = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
    udp = UdpSockets.open([socket.AF_INET])
    loop = EventLoop(tunnel, inside.fileno(), udp)
    stop_r, stop_w = os.pipe()
    try:
        loop.call_at(loop.clock() + 1e12, lambda: None)  # --wait-timeout 1e12
        loop.add_reader(stop_r, lambda: loop.stop(7))
        os.write(stop_w, b"x")  # readable at once: the poll returns, with a capped timeout
        assert loop.run() == 7
    finally:
        loop.close()
        udp.close()
        for fd in (stop_r, stop_w):
            os.close(fd)
        inside.close()
        outside.close()

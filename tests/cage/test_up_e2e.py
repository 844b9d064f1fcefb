"""``wirecage up`` end to end: rootless, through real wireguard-go peers, in namespaces.

Every case runs wirecage as ``nobody`` in the "client host" namespace unless it says root.
"""

from __future__ import annotations

import os
import signal
import subprocess

import pytest

from cage import servers
from cage.cagenet import (
    BIG_FILE_SIZE,
    PEER1_ENDPOINT,
    SECRET_NAME,
    cage_namespaces,
    nothing_left,
    pid_of,
)
from topology import requires_netns, requires_wggo, wait_until

pytestmark = [requires_netns, requires_wggo, pytest.mark.root, pytest.mark.wggo]


def ok(proc: subprocess.CompletedProcess) -> str:
    assert proc.returncode == 0, (
        f"exit {proc.returncode}\nstdout: {proc.stdout}\nstderr: {proc.stderr}"
    )
    return proc.stdout


def test_http_download_50mb_checked_by_sha256(net):
    profile = net.profile("http")
    out = ok(
        net.run(
            "up", str(profile), "--", *net.python(servers.FETCH, "http://10.77.0.1:8080/big.bin")
        )
    )
    assert out.split() == [str(BIG_FILE_SIZE), net.big_sha256]


def test_udp_through_the_tunnel(net):
    profile = net.profile("udp")
    out = ok(
        net.run("up", str(profile), "--", *net.python(servers.UDP_ASK, "10.77.0.1", "7777", "hi"))
    )
    assert out.strip() == "echo:hi"


def test_ping_works_unprivileged(net):
    profile = net.profile("ping")
    out = ok(net.run("up", str(profile), "--", "ping", "-c", "2", "-W", "5", "10.77.0.1"))
    assert "2 received" in out


def test_dns_name_only_the_peer_knows(net):
    profile = net.profile("dns")
    script = (
        f"getent ahostsv4 {SECRET_NAME} | head -n1; "
        "getent ahostsv4 secret | head -n1; "  # through the search domain
        "cat /etc/resolv.conf; grep '^hosts:' /etc/nsswitch.conf"
    )
    out = ok(net.run("up", str(profile), "--", "sh", "-c", script))
    lines = out.splitlines()
    assert lines[0].split()[0] == "10.77.0.1"
    assert lines[1].split()[0] == "10.77.0.1"
    assert "nameserver 10.77.0.1" in lines
    assert "search wirecage.test" in lines
    assert lines[-1].split() == ["hosts:", "files", "dns"]


def test_dns_flag_overrides_the_profile(net):
    profile = net.profile("dnsflag", dns="10.77.0.9")
    out = ok(
        net.run("up", "--dns", "10.77.0.1", str(profile), "--", "getent", "ahostsv4", SECRET_NAME)
    )
    assert out.split()[0] == "10.77.0.1"


def test_ipv6_inside_the_tunnel(net):
    profile = net.profile("v6")
    script = "ping -6 -c 1 -W 5 fd77::1 >/dev/null && echo pong; ip -6 addr show dev wg0"
    out = ok(
        net.run(
            "up",
            str(profile),
            "--",
            "sh",
            "-c",
            script
            + "; "
            + " ".join(
                [f"'{a}'" for a in net.python(servers.FETCH, "http://[fd77::1]:8080/index.html")]
            ),
        )
    )
    assert out.splitlines()[0] == "pong"
    assert "fd77::2/128" in out
    assert "fe80" not in out  # no link-local address: no chatter into the tunnel


def test_two_peers_with_split_allowed_ips(net):
    profile = net.profile("two", peer2=True)
    fetch = " ".join(f"'{a}'" for a in net.python(servers.CONNECT, "10.77.0.65", "8080"))
    script = f"{fetch}; " + " ".join(
        f"'{a}'" for a in net.python(servers.UDP_ASK, "10.77.0.1", "7777", "one")
    )
    out = ok(net.run("up", str(profile), "--", "sh", "-c", script))
    assert out.split() == ["connected", "echo:one"]
    peer2_view = {p.public_key: p for p in net.wg2.dump()}
    assert peer2_view[net.client.key.public_key().to_base64()].latest_handshake > 0


def test_preshared_key(net):
    profile = net.profile("psk", client=net.client_psk, dns=None)
    out = ok(
        net.run("up", str(profile), "--", *net.python(servers.UDP_ASK, "10.77.0.1", "7777", "psk"))
    )
    assert out.strip() == "echo:psk"


@pytest.mark.parametrize(
    ("command", "status"),
    [
        (["true"], 0),
        (["sh", "-c", "exit 3"], 3),
        (["/etc/hostname"], 126),  # exists, not executable
        (["wirecage-no-such-command"], 127),
        (["sh", "-c", "kill -TERM $$"], 143),
    ],
)
def test_exit_statuses(net, command, status):
    profile = net.profile("status")
    proc = net.run("up", str(profile), "--", *command)
    assert proc.returncode == status, proc.stderr
    if status == 127:
        assert "wirecage-no-such-command: command not found" in proc.stderr


def test_stdin_and_stdout_piped_through(net):
    profile = net.profile("pipe")
    proc = net.run("up", "-q", str(profile), "--", "cat", input="x")
    assert (proc.returncode, proc.stdout) == (0, "x")


def test_environment_and_identity(net):
    profile = net.profile("env")
    out = ok(
        net.run(
            "up",
            str(profile),
            "--",
            "sh",
            "-c",
            'id -u; id -g; echo "$WIRECAGE_PROFILE"; grep CapEff /proc/self/status',
        )
    )
    lines = out.splitlines()
    assert lines[:3] == ["65534", "65534", "env"]
    assert lines[3].split()[1] == "0000000000000000"  # no capabilities at all


def test_sigterm_to_wirecage_reaches_the_command(net):
    profile = net.profile("sigterm")
    proc = net.popen("up", str(profile), "--", "sh", "-c", "echo ready; exec sleep 600")
    try:
        assert proc.stdout.readline() == b"ready\n"
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 143
    finally:
        proc.kill()
        proc.wait()


def test_no_route_outside_allowed_ips(net):
    profile = net.profile("noroute")
    # 198.51.100.1 is peer1's address on the client host's own network; 10.77.0.200 is
    # tunnel space no peer allows. Neither has a route inside the cage.
    script = "; ".join(
        " ".join(f"'{a}'" for a in net.python(servers.CONNECT, host, "8080", "3"))
        for host in ("198.51.100.1", "10.77.0.200", "2001:db8::1")
    )
    out = ok(net.run("up", str(profile), "--", "sh", "-c", script))
    assert out.split() == ["ENETUNREACH", "ENETUNREACH", "ENETUNREACH"]


def test_with_the_peer_stopped_only_wireguard_leaves_the_host(net):
    profile = net.profile("leak", allowed_ips="0.0.0.0/0, ::/0")
    capture = net.dir / "leak.pcap"
    dump = net.host.popen(
        [
            "tcpdump",
            "-i",
            net.host_veth,
            "-n",
            "-U",
            "-Q",
            "out",  # what leaves the client host
            "-w",
            str(capture),
            # The client host's own IPv6 housekeeping (DAD, MLD reports) from :: or link-local.
            "not arp and not (ip6 and (src net fe80::/10 or src host ::))",
        ],
        stderr=subprocess.PIPE,
    )
    net.wg1.stop()
    try:
        # tcpdump says "listening on" once the capture runs.
        assert b"listening on" in dump.stderr.readline()
        script = (
            "ping -c 2 -W 1 198.51.100.1; ping -c 1 -W 1 10.77.0.1; "
            # One try of one second per query: the answer never comes, and glibc's default
            # (5 s, twice, for each address family) only makes the test slow.
            "RES_OPTIONS='timeout:1 attempts:1' getent hosts example.org; "
            + " ".join(f"'{a}'" for a in net.python(servers.CONNECT, "198.51.100.1", "8080", "2"))
        )
        proc = net.run("up", "-q", str(profile), "--", "sh", "-c", script)
        assert proc.returncode != 0 or "connected" not in proc.stdout
    finally:
        dump.send_signal(signal.SIGINT)
        dump.wait(timeout=30)
        net.wg1.start()
    packets = net.host.run(["tcpdump", "-n", "-r", str(capture)]).stdout.splitlines()
    assert packets, "the handshake initiations should have been captured"
    for line in packets:
        assert "198.51.100.2." in line and f"> {PEER1_ENDPOINT.replace(':', '.')}: UDP" in line, (
            line
        )


def _host_mounts(net) -> list[str]:
    out = net.host.run(["cat", "/proc/self/mountinfo"]).stdout
    # /run/netns holds every test's namespaces (other tests may run at the same time).
    mounts = (" ".join(line.split()[3:5]) for line in out.splitlines())
    return sorted(m for m in mounts if "/run/netns" not in m)


@pytest.mark.parametrize("how", ["exit", "command killed", "wirecage killed"])
def test_nothing_left_behind(net, how):
    profile = net.profile("clean")
    mounts_before = _host_mounts(net)
    # A background process that outlives the command unless the cage takes it down.
    child, main = "sleep 3172", "sleep 3171"
    script = f"{child} & echo ready; " + ("read line" if how == "exit" else f"exec {main}")
    proc = net.popen("up", str(profile), "--", "sh", "-c", script, stdin=subprocess.PIPE)
    try:
        assert proc.stdout.readline() == b"ready\n"
        # The cage's runtime directory exists while it runs (so its absence below means
        # something).
        assert any((net.runtime_dir / "wirecage").iterdir())
        inodes = cage_namespaces(proc.pid)
        wait_until(lambda: pid_of(child), what=child)
        if how == "command killed":
            os.kill(pid_of(main), signal.SIGKILL)
            assert proc.wait(timeout=60) == 128 + signal.SIGKILL
        elif how == "wirecage killed":
            proc.kill()
            proc.wait(timeout=60)
        else:
            proc.stdin.write(b"done\n")
            proc.stdin.close()
            assert proc.wait(timeout=60) == 0
        wait_until(lambda: nothing_left(inodes, [child, main]), what="the cage to go away")
    finally:
        proc.kill()
        proc.wait()
    assert _host_mounts(net) == mounts_before
    if how != "wirecage killed":
        runtime = net.runtime_dir / "wirecage"
        assert not runtime.exists() or not any(runtime.iterdir())


def test_root_runs_the_command_as_another_user_without_leaking_mounts(net):
    profile = net.profile("asroot", owner=0)
    mounts_before = _host_mounts(net)
    out = ok(
        net.run(
            "up",
            "--user",
            "nobody",
            str(profile),
            "--",
            "sh",
            "-c",
            "id -u; echo $HOME; ping -c1 -W5 10.77.0.1 >/dev/null && echo pong",
            root=True,
        )
    )
    assert out.split() == ["65534", "/nonexistent", "pong"]
    assert _host_mounts(net) == mounts_before


def test_wait_starts_the_command_after_the_handshake(net):
    profile = net.profile("wait")
    proc = net.run("up", "-v", "--wait", str(profile), "--", "true")
    assert proc.returncode == 0, proc.stderr
    log = proc.stderr
    assert log.index("handshake with peer") < log.index("command started")


def test_adhoc_profile_flags(net):
    key_file = net.dir / "adhoc.key"
    key_file.write_text(net.client.key.to_base64() + "\n")
    os.chown(key_file, 65534, 65534)
    os.chmod(key_file, 0o600)
    out = ok(
        net.run(
            "up",
            "--wg-public-key",
            net.peer1_key.public_key().to_base64(),
            "--wg-private-key-file",
            str(key_file),
            "--wg-endpoint",
            PEER1_ENDPOINT,
            "--wg-address",
            "10.77.0.2/32",
            "--",
            *net.python(servers.UDP_ASK, "10.77.0.1", "7777", "adhoc"),
        )
    )
    assert out.strip() == "echo:adhoc"

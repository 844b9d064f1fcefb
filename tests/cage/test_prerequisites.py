"""Every missing prerequisite ends ``wirecage up`` with status 125, its message and its fix,
each tested by making it really fail."""

from __future__ import annotations

import subprocess

import pytest

from cage.cagenet import NOBODY, VENV_PYTHON
from topology import requires_netns, requires_wggo

pytestmark = [requires_netns, requires_wggo, pytest.mark.root, pytest.mark.wggo]


def test_unusable_dev_net_tun(net):
    profile = net.profile("tun")
    proc = net.run("up", str(profile), "--", "true", tun="closed")
    assert proc.returncode == 125
    assert "wirecage: error: /dev/net/tun is not usable by this user" in proc.stderr
    assert "hint: make it usable: 'sudo chmod 0666 /dev/net/tun'" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_unresolvable_endpoint(net):
    profile = net.profile("unresolvable", endpoint="no-such-host.invalid:51820")
    # Names resolve from /etc/hosts only, so the failure is permanent and no query leaves.
    nsswitch = net.dir / "nsswitch-files-only.conf"
    nsswitch.write_text("hosts: files\n")
    prefix = (
        "unshare",
        "--mount",
        "sh",
        "-c",
        f'mount --bind {nsswitch} /etc/nsswitch.conf && exec "$@"',
        "sh",
    )
    proc = net.run("up", str(profile), "--", "true", prefix=prefix)
    assert proc.returncode == 125
    assert "cannot resolve the endpoint no-such-host.invalid:51820 of peer" in proc.stderr
    assert "hint: check the Endpoint in the profile" in proc.stderr


def test_endpoint_where_nothing_answers_with_wait(net):
    profile = net.profile("silent", endpoint="198.51.100.1:51999")
    proc = net.run("up", "--wait", "--wait-timeout", "2", str(profile), "--", "true")
    assert proc.returncode == 125
    assert "--wait: no handshake within 2 s" in proc.stderr
    assert "198.51.100.1:51999" in proc.stderr
    assert f"peer {net.peer1_key.public_key().short()}" in proc.stderr
    assert "reachable over UDP" in proc.stderr


@pytest.mark.parametrize("value", ["nan", "inf", "0", "-1"])
def test_a_wait_timeout_that_is_no_positive_number(net, value):
    profile = net.profile("badwait", endpoint="198.51.100.1:51999")
    proc = net.run("up", "--wait", "--wait-timeout", value, str(profile), "--", "true")
    assert proc.returncode == 125
    assert "--wait-timeout must be a number of seconds more than 0" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_wirecage_started_with_standard_error_closed_still_runs_the_command(net):
    profile = net.profile("nostderr", endpoint="198.51.100.1:51999")
    prefix = ("sh", "-c", 'exec "$@" 2>&-', "sh")
    proc = net.run("up", str(profile), "--", "sh", "-c", "echo ran", prefix=prefix)
    assert (proc.returncode, proc.stdout) == (0, "ran\n")


def test_dns_the_cage_cannot_use_is_warned_of(net):
    # The peer never answers; the command starts at once and the warnings come before it.
    inside = net.profile("dnsok", endpoint="198.51.100.1:51999")
    proc = net.run("up", "--dns", "10.77.0.1", str(inside), "--", "true")
    assert proc.returncode == 0 and "nameserver" not in proc.stderr, proc.stderr
    proc = net.run("up", "--dns", "10.88.0.1", str(inside), "--", "true")
    assert proc.returncode == 0
    assert "nameserver 10.88.0.1 is outside the AllowedIPs of dnsok" in proc.stderr
    search_only = net.profile("dnssearch", endpoint="198.51.100.1:51999", dns="corp.example")
    proc = net.run("up", str(search_only), "--", "true")
    assert proc.returncode == 0
    assert "gives search domains (corp.example) but no nameserver" in proc.stderr


def test_endpoint_where_nothing_answers_warns_once_the_command_runs(net):
    profile = net.profile("silent2", endpoint="198.51.100.1:51999")
    proc = net.run("up", str(profile), "--", "sleep", "12")
    assert proc.returncode == 0
    warnings = [line for line in proc.stderr.splitlines() if "no handshake with peer" in line]
    assert len(warnings) == 1
    assert "198.51.100.1:51999" in warnings[0]


# Runs as nobody: a user namespace whose limit of nested user namespaces is 0, then wirecage.
NO_USERNS = r"""
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
if libc.unshare(0x10000000) != 0:
    sys.exit("unshare failed")
maps = (("setgroups", "deny"), ("uid_map", "65534 65534 1"), ("gid_map", "65534 65534 1"))
for name, text in maps:
    with open(f"/proc/self/{name}", "w") as f:
        f.write(text)
with open("/proc/sys/user/max_user_namespaces", "w") as f:
    f.write("0")
os.execv(sys.argv[1], sys.argv[1:])
"""


def test_user_namespaces_disabled(net):
    profile = net.profile("nouserns")
    argv = net.host.exec_prefix() + [
        "setpriv",
        f"--reuid={NOBODY}",
        f"--regid={NOBODY}",
        "--clear-groups",
        VENV_PYTHON,
        "-c",
        NO_USERNS,
        VENV_PYTHON,
        "-m",
        "wirecage",
        "up",
        str(profile),
        "--",
        "true",
    ]
    proc = subprocess.run(argv, env=net.env(), capture_output=True, text=True, timeout=120)
    assert proc.returncode == 125, proc.stderr
    assert "user namespaces are disabled (user.max_user_namespaces=0)" in proc.stderr
    assert "hint: user namespaces are limited to 0 here" in proc.stderr

"""Test hosts in network namespaces, and the reference peer: the real wireguard-go.

Every test host is a network namespace of its own, joined to others by veth pairs, so no test
touches the machine's own network. Underlay addresses come from the documentation ranges
(198.51.100.0/24, 2001:db8::/64); tunnel addresses from 10.77.0.0/24 and fd77::/64; traffic
only ever flows between namespaces a test made.

    with Netns("peer") as peer, Netns("client") as client:
        veth_pair(client, peer, ["198.51.100.1/24"], ["198.51.100.2/24"])
        wg = WireguardGo(peer, "wcp0", key_b64, 51820, ["10.77.0.1/24"],
                         [WgPeerSpec(client_pub_b64, ["10.77.0.2/32"])])
        with wg:            # started; stopped on exit, even on failure
            ...

Namespaces are named ``wc-<role>-<pid>-<n>`` so that ``cleanup_stale()`` can remove the ones a
killed test run left behind without touching a concurrent run's.
"""

from __future__ import annotations

import ctypes
import itertools
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest

CLONE_NEWNET = 0x40000000
_counter = itertools.count()
_libc = ctypes.CDLL(None, use_errno=True)


def _netns_problem() -> str | None:
    if os.geteuid() != 0:
        return "needs root to create network namespaces"
    if shutil.which("ip") is None:
        return "needs iproute2 ('ip')"
    name = f"wc-probe-{os.getpid()}"
    probe = subprocess.run(["ip", "netns", "add", name], capture_output=True, text=True)
    if probe.returncode != 0:
        return f"cannot create a network namespace: {probe.stderr.strip()}"
    subprocess.run(["ip", "netns", "del", name], capture_output=True)
    return None


def _wggo_problem() -> str | None:
    missing = [tool for tool in ("wireguard-go", "wg") if shutil.which(tool) is None]
    if missing:
        return f"needs {' and '.join(missing)} (apt-get install wireguard-go wireguard-tools)"
    return None


_NETNS_PROBLEM = _netns_problem()
_WGGO_PROBLEM = _wggo_problem()

requires_netns = pytest.mark.skipif(_NETNS_PROBLEM is not None, reason=str(_NETNS_PROBLEM))
requires_wggo = pytest.mark.skipif(_WGGO_PROBLEM is not None, reason=str(_WGGO_PROBLEM))


def _run(argv: Sequence[str], *, check: bool = True, timeout: float = 60, **kw):
    kw.setdefault("capture_output", True)
    kw.setdefault("text", True)
    proc = subprocess.run(list(argv), timeout=timeout, **kw)
    if check and proc.returncode != 0:
        raise AssertionError(
            f"{' '.join(argv)} exited {proc.returncode}: {proc.stderr or ''}{proc.stdout or ''}"
        )
    return proc


def cleanup_stale() -> None:
    """Delete the namespaces of earlier test runs whose process is gone."""
    listing = _run(["ip", "netns", "list"], check=False).stdout
    for line in listing.splitlines():
        match = re.match(r"(wc-[\w.]+-(\d+)-\d+)", line)
        if match and not os.path.exists(f"/proc/{match.group(2)}"):
            Netns._kill_and_delete(match.group(1))


class Netns:
    """A network namespace made with ``ip netns add``, with ``lo`` up; deleted on exit."""

    def __init__(self, role: str):
        self.name = f"wc-{role}-{os.getpid()}-{next(_counter)}"
        self._procs: list[subprocess.Popen] = []

    def __enter__(self) -> Netns:
        _run(["ip", "netns", "add", self.name])
        try:
            self.run(["ip", "link", "set", "lo", "up"])
        except BaseException:
            self._kill_and_delete(self.name)
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def exec_prefix(self) -> list[str]:
        return ["ip", "netns", "exec", self.name]

    def run(self, argv: Sequence[str], *, check: bool = True, timeout: float = 60, **kw):
        return _run(self.exec_prefix() + list(argv), check=check, timeout=timeout, **kw)

    def popen(self, argv: Sequence[str], **kw) -> subprocess.Popen:
        """Start a process in the namespace; it is killed when the namespace is closed."""
        kw.setdefault("stdin", subprocess.DEVNULL)
        kw.setdefault("start_new_session", True)
        proc = subprocess.Popen(self.exec_prefix() + list(argv), **kw)
        self._procs.append(proc)
        return proc

    def pids(self) -> list[int]:
        out = _run(["ip", "netns", "pids", self.name], check=False).stdout
        return [int(p) for p in out.split()]

    def close(self) -> None:
        for proc in self._procs:
            stop_process(proc)
        self._procs.clear()
        self._kill_and_delete(self.name)

    @staticmethod
    def _kill_and_delete(name: str) -> None:
        out = _run(["ip", "netns", "pids", name], check=False).stdout
        for pid in out.split():
            try:
                os.kill(int(pid), signal.SIGKILL)
            except ProcessLookupError:
                pass
        _run(["ip", "netns", "del", name], check=False)


def stop_process(proc: subprocess.Popen, timeout: float = 10) -> None:
    """SIGTERM the process (and its session), then SIGKILL if it lingers."""
    if proc.poll() is not None:
        return
    for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 30)):
        try:
            os.killpg(proc.pid, sig)
        except (ProcessLookupError, PermissionError):
            try:
                proc.send_signal(sig)
            except ProcessLookupError:
                return
        try:
            proc.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


def veth_pair(
    a: Netns, b: Netns, addrs_a: Sequence[str], addrs_b: Sequence[str], *, mtu: int = 1500
) -> tuple[str, str]:
    """Join two namespaces with a veth pair carrying the given addresses; returns the names."""
    n = next(_counter)
    name_a, name_b = f"va{os.getpid() % 100000}x{n}"[:15], f"vb{os.getpid() % 100000}x{n}"[:15]
    _run(
        [
            "ip",
            "link",
            "add",
            name_a,
            "netns",
            a.name,
            "mtu",
            str(mtu),
            "type",
            "veth",
            "peer",
            "name",
            name_b,
            "netns",
            b.name,
            "mtu",
            str(mtu),
        ]
    )
    for ns, name, addrs in ((a, name_a, addrs_a), (b, name_b, addrs_b)):
        for addr in addrs:
            # nodad: an IPv6 address is usable at once instead of after duplicate detection.
            extra = ["nodad"] if ":" in addr else []
            ns.run(["ip", "addr", "add", addr, "dev", name, *extra])
        ns.run(["ip", "link", "set", name, "up"])
    return name_a, name_b


@contextmanager
def in_netns(ns: Netns) -> Iterator[None]:
    """Move the calling thread into ``ns`` for the duration (sockets made there stay there)."""
    with (
        open("/proc/thread-self/ns/net", "rb") as home,
        open(f"/run/netns/{ns.name}", "rb") as target,
    ):
        if _libc.setns(target.fileno(), CLONE_NEWNET) != 0:
            err = ctypes.get_errno()
            raise OSError(err, f"setns into {ns.name}: {os.strerror(err)}")
        try:
            yield
        finally:
            if _libc.setns(home.fileno(), CLONE_NEWNET) != 0:
                err = ctypes.get_errno()
                raise OSError(err, f"setns back home: {os.strerror(err)}")


@dataclass
class WgPeerSpec:
    public_key: str
    allowed_ips: Sequence[str]
    endpoint: str | None = None
    preshared_key: str | None = None
    persistent_keepalive: int | None = None


@dataclass
class WgDumpPeer:
    public_key: str
    preshared_key: str | None
    endpoint: str | None
    allowed_ips: list[str]
    latest_handshake: int
    rx_bytes: int
    tx_bytes: int
    persistent_keepalive: int | None


@dataclass
class WireguardGo:
    """The reference peer: Debian's wireguard-go in ``ns``, configured with ``wg setconf``."""

    ns: Netns
    name: str
    private_key: str
    listen_port: int
    addresses: Sequence[str]
    peers: list[WgPeerSpec] = field(default_factory=list)
    proc: subprocess.Popen | None = None
    _dir: tempfile.TemporaryDirectory | None = None

    def __enter__(self) -> WireguardGo:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def uapi_socket(self) -> Path:
        return Path(f"/var/run/wireguard/{self.name}.sock")

    def config_text(self) -> str:
        lines = [
            "[Interface]",
            f"PrivateKey = {self.private_key}",
            f"ListenPort = {self.listen_port}",
        ]
        for peer in self.peers:
            lines += ["", "[Peer]", f"PublicKey = {peer.public_key}"]
            if peer.preshared_key:
                lines.append(f"PresharedKey = {peer.preshared_key}")
            if peer.allowed_ips:
                lines.append(f"AllowedIPs = {', '.join(peer.allowed_ips)}")
            if peer.endpoint:
                lines.append(f"Endpoint = {peer.endpoint}")
            if peer.persistent_keepalive:
                lines.append(f"PersistentKeepalive = {peer.persistent_keepalive}")
        return "\n".join(lines) + "\n"

    def start(self, timeout: float = 30) -> None:
        if self._dir is None:
            self._dir = tempfile.TemporaryDirectory(prefix="wc-wggo-")
        conf = Path(self._dir.name) / f"{self.name}.conf"
        fd = os.open(conf, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(self.config_text())
        log = open(Path(self._dir.name) / "wireguard-go.log", "ab")
        env = dict(os.environ, WG_PROCESS_FOREGROUND="1", LOG_LEVEL="verbose")
        self.proc = self.ns.popen(
            ["wireguard-go", "-f", self.name], stdout=log, stderr=log, env=env
        )
        log.close()
        deadline = time.monotonic() + timeout
        while not self.uapi_socket.exists():
            if self.proc.poll() is not None:
                raise AssertionError(f"wireguard-go exited {self.proc.returncode}: {self.log()}")
            if time.monotonic() > deadline:
                raise AssertionError(f"wireguard-go made no UAPI socket: {self.log()}")
            time.sleep(0.02)
        self.ns.run(["wg", "setconf", self.name, str(conf)])
        for addr in self.addresses:
            extra = ["nodad"] if ":" in addr else []
            self.ns.run(["ip", "addr", "add", addr, "dev", self.name, *extra])
        self.ns.run(["ip", "link", "set", self.name, "up"])

    def stop(self) -> None:
        if self.proc is not None:
            stop_process(self.proc)
            self.proc = None
        # wireguard-go removes its socket on a clean exit; after SIGKILL it may remain.
        self.uapi_socket.unlink(missing_ok=True)

    def restart(self) -> None:
        self.stop()
        self.start()

    def close(self) -> None:
        self.stop()
        if self._dir is not None:
            self._dir.cleanup()
            self._dir = None

    def log(self) -> str:
        if self._dir is None:
            return ""
        path = Path(self._dir.name) / "wireguard-go.log"
        return path.read_text(errors="replace")[-4000:] if path.exists() else ""

    def set_peer(self, peer: WgPeerSpec) -> None:
        """Add or update a peer on the running instance (and in the config used on restart)."""
        argv = ["wg", "set", self.name, "peer", peer.public_key]
        if peer.allowed_ips:
            argv += ["allowed-ips", ",".join(peer.allowed_ips)]
        if peer.endpoint:
            argv += ["endpoint", peer.endpoint]
        if peer.persistent_keepalive:
            argv += ["persistent-keepalive", str(peer.persistent_keepalive)]
        psk_file = None
        if peer.preshared_key:
            assert self._dir is not None
            psk_file = Path(self._dir.name) / "psk"
            fd = os.open(psk_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(peer.preshared_key + "\n")
            argv += ["preshared-key", str(psk_file)]
        self.ns.run(argv)
        self.peers = [p for p in self.peers if p.public_key != peer.public_key] + [peer]

    def dump(self) -> list[WgDumpPeer]:
        """The peers as ``wg show NAME dump`` reports them."""
        out = self.ns.run(["wg", "show", self.name, "dump"]).stdout.splitlines()
        peers = []
        for line in out[1:]:
            key, psk, endpoint, allowed, hs, rx, tx, ka = line.split("\t")
            peers.append(
                WgDumpPeer(
                    public_key=key,
                    preshared_key=None if psk == "(none)" else psk,
                    endpoint=None if endpoint == "(none)" else endpoint,
                    allowed_ips=[] if allowed == "(none)" else allowed.split(","),
                    latest_handshake=int(hs),
                    rx_bytes=int(rx),
                    tx_bytes=int(tx),
                    persistent_keepalive=None if ka == "off" else int(ka),
                )
            )
        return peers


def wait_until(predicate, *, timeout: float = 30, interval: float = 0.05, what: str = "condition"):
    """Poll ``predicate`` until it returns a true value; fail the test after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)

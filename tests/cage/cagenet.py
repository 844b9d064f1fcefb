"""The cage's test world: a client host, two WireGuard peers, servers on the peers' tunnel side.

    client host (wirecage runs here)      peer1 (wireguard-go)         peer2 (wireguard-go)
    198.51.100.2/25  ───── veth ─────   198.51.100.1/25
    2001:db8::2/64                      2001:db8::1/64
                                        tunnel 10.77.0.1, fd77::1    tunnel 10.77.0.65
    198.51.100.130/25 ──────────────── veth ──────────────────────  198.51.100.129/25

peer1 serves HTTP (a 50 MB file) on port 8080, UDP echo on 7777 and DNS on 53 (a name only
it knows); peer2 serves HTTP on 8080. The client profiles route 10.77.0.0/26 and fd77::/64
to peer1 and 10.77.0.64/26 to peer2; everything else has no route inside the cage.

wirecage runs as ``nobody`` (rootless) from a world-readable copy of the source tree, since
the checkout may sit in a directory only root can enter.
"""

from __future__ import annotations

import hashlib
import os
import random
import select
import shutil
import stat
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cage import servers
from topology import Netns, WgPeerSpec, WireguardGo, veth_pair
from wirecage.wg.keys import PresharedKey, PrivateKey

# The venv scripts/setup.sh makes: world-readable, so that `nobody` can run it.
VENV_PYTHON = os.path.join(os.environ.get("WIRECAGE_VENV", "/opt/wirecage-venv"), "bin", "python")
TUN_MAJOR, TUN_MINOR = 10, 200
_BIND_TUN = 'mount --bind "$0" /dev/net/tun && exec "$@"'
NOBODY = 65534
PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
BIG_FILE_SIZE = 50 * 1024 * 1024 + 12345
SECRET_NAME = "secret.wirecage.test"
PEER1_ENDPOINT = "198.51.100.1:51820"
PEER2_ENDPOINT = "198.51.100.129:51820"


def keys(seed: int):
    rnd = random.Random(seed)
    return lambda n: rnd.randbytes(n)


@dataclass
class ClientSpec:
    key: PrivateKey
    addresses: tuple[str, ...]
    psk: PresharedKey | None = None


def wait_ready(proc: subprocess.Popen, what: str, timeout: float = 30) -> None:
    """Wait for the server's "ready" line (it prints it once it listens)."""
    assert proc.stdout is not None
    ready, _, _ = select.select([proc.stdout], [], [], timeout)
    line = proc.stdout.readline() if ready else b""
    if b"ready" not in line:
        raise AssertionError(f"{what} did not start (exit {proc.poll()}): {line!r}")


class CageNet:
    def __init__(self, src_copy: Path):
        self.src = src_copy
        rb = keys(4)
        self.peer1_key = PrivateKey.generate(rb)
        self.peer2_key = PrivateKey.generate(rb)
        self.client = ClientSpec(PrivateKey.generate(rb), ("10.77.0.2/32", "fd77::2/128"))
        self.client_psk = ClientSpec(
            PrivateKey.generate(rb), ("10.77.0.3/32",), PresharedKey.generate(rb)
        )
        self._stack: list = []

    # -- setup -----------------------------------------------------------------------------

    def __enter__(self) -> CageNet:
        try:
            self._setup()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _enter(self, thing):
        thing.__enter__()
        self._stack.append(thing)
        return thing

    def _setup(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="wc-cage-"))
        os.chmod(self.dir, 0o755)
        self.www = self.dir / "www"
        self.www.mkdir()
        data = random.Random(50).randbytes(BIG_FILE_SIZE)
        (self.www / "big.bin").write_bytes(data)
        self.big_sha256 = hashlib.sha256(data).hexdigest()
        (self.www / "index.html").write_text("hello from peer1\n")
        self.www2 = self.dir / "www2"
        self.www2.mkdir()
        (self.www2 / "index.html").write_text("hello from peer2\n")
        for path in (self.www, self.www2):
            os.chmod(path, 0o755)
        # Private /dev/net/tun nodes, bind-mounted over the real one in the mount namespace
        # that `ip netns exec` makes for each run: the tests never change the machine's own
        # device (a concurrent run, or a killed one, would see or keep the wrong mode).
        self.tun_nodes = {}
        for kind, mode in (("open", 0o666), ("closed", 0o600)):
            node = self.dir / f"tun-{kind}"
            os.mknod(node, stat.S_IFCHR | mode, os.makedev(TUN_MAJOR, TUN_MINOR))
            os.chmod(node, mode)
            self.tun_nodes[kind] = node
        # nobody's XDG_RUNTIME_DIR for this run only: a concurrent run's cages, which share
        # nobody's default /tmp/wirecage-65534, must not show up in this run's checks.
        self.runtime_dir = self.dir / "run-nobody"
        self.runtime_dir.mkdir(mode=0o700)
        os.chown(self.runtime_dir, NOBODY, NOBODY)

        self.host = self._enter(Netns("chost"))
        self.peer1 = self._enter(Netns("peer1"))
        self.peer2 = self._enter(Netns("peer2"))
        self.host_veth, _ = veth_pair(
            self.host,
            self.peer1,
            ["198.51.100.2/25", "2001:db8::2/64"],
            ["198.51.100.1/25", "2001:db8::1/64"],
        )
        veth_pair(self.host, self.peer2, ["198.51.100.130/25"], ["198.51.100.129/25"])

        tag = os.getpid() % 10000
        self.wg1 = WireguardGo(
            self.peer1,
            f"wcp{tag}a",
            self.peer1_key.to_base64(),
            51820,
            ["10.77.0.1/24", "fd77::1/64"],
            [
                WgPeerSpec(
                    self.client.key.public_key().to_base64(), ["10.77.0.2/32", "fd77::2/128"]
                ),
                WgPeerSpec(
                    self.client_psk.key.public_key().to_base64(),
                    ["10.77.0.3/32"],
                    preshared_key=self.client_psk.psk.to_base64(),
                ),
            ],
        )
        self._enter(self.wg1)
        self.wg2 = WireguardGo(
            self.peer2,
            f"wcp{tag}b",
            self.peer2_key.to_base64(),
            51820,
            ["10.77.0.65/24"],
            [WgPeerSpec(self.client.key.public_key().to_base64(), ["10.77.0.2/32"])],
        )
        self._enter(self.wg2)

        self._server(self.peer1, servers.HTTP, "8080", str(self.www), what="http on peer1")
        self._server(self.peer1, servers.UDP_ECHO, "7777", what="udp echo on peer1")
        self._server(
            self.peer1,
            servers.DNS,
            "53",
            f"{SECRET_NAME}=10.77.0.1,fd77::1",
            what="dns on peer1",
        )
        self._server(self.peer2, servers.HTTP, "8080", str(self.www2), what="http on peer2")

    def _server(self, ns: Netns, script: str, *args: str, what: str) -> None:
        proc = ns.popen([VENV_PYTHON, "-c", script, *args], stdout=subprocess.PIPE)
        wait_ready(proc, what)

    def close(self) -> None:
        while self._stack:
            thing = self._stack.pop()
            try:
                thing.__exit__(None, None, None)
            except Exception:  # noqa: BLE001 - keep cleaning up
                pass
        if getattr(self, "dir", None) is not None:
            shutil.rmtree(self.dir, ignore_errors=True)

    # -- profiles --------------------------------------------------------------------------

    def profile(
        self,
        name: str,
        *,
        client: ClientSpec | None = None,
        peer2: bool = False,
        dns: str | None = "10.77.0.1, wirecage.test",
        endpoint: str = PEER1_ENDPOINT,
        allowed_ips: str = "10.77.0.0/26, fd77::/64",
        extra_interface: str = "",
        owner: int = NOBODY,
    ) -> Path:
        """Write a .conf profile readable only by ``owner``; returns its path."""
        client = client or self.client
        lines = [
            "[Interface]",
            f"PrivateKey = {client.key.to_base64()}",
            f"Address = {', '.join(client.addresses)}",
        ]
        if dns:
            lines.append(f"DNS = {dns}")
        if extra_interface:
            lines.append(extra_interface)
        lines += [
            "",
            "[Peer]",
            f"PublicKey = {self.peer1_key.public_key().to_base64()}",
            f"Endpoint = {endpoint}",
            f"AllowedIPs = {allowed_ips}",
        ]
        if client.psk is not None:
            lines.append(f"PresharedKey = {client.psk.to_base64()}")
        if peer2:
            lines += [
                "",
                "[Peer]",
                f"PublicKey = {self.peer2_key.public_key().to_base64()}",
                f"Endpoint = {PEER2_ENDPOINT}",
                "AllowedIPs = 10.77.0.64/26",
            ]
        path = self.dir / f"{name}.conf"
        path.write_text("\n".join(lines) + "\n")
        os.chown(path, owner, owner)
        os.chmod(path, 0o600)
        return path

    # -- running wirecage ------------------------------------------------------------------

    def argv(
        self, *args: str, root: bool = False, prefix: tuple[str, ...] = (), tun: str = "open"
    ) -> list[str]:
        """wirecage's command line in the client host; ``tun`` is "open" (0666) or "closed"."""
        return self.client_argv(
            [VENV_PYTHON, "-m", "wirecage", *args], root=root, prefix=prefix, tun=tun
        )

    def client_argv(
        self,
        program: list[str],
        *,
        root: bool = False,
        prefix: tuple[str, ...] = (),
        tun: str = "open",
    ) -> list[str]:
        """``program`` in the client host, as nobody unless ``root``, with the private
        /dev/net/tun (a shell started this way runs wirecage as the user would)."""
        argv = self.host.exec_prefix() + ["sh", "-c", _BIND_TUN, str(self.tun_nodes[tun])]
        argv += list(prefix)
        if not root:
            argv += ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups"]
        return argv + program

    def env(self, **extra: str) -> dict[str, str]:
        return {
            "PATH": PATH,
            "PYTHONPATH": str(self.src),
            "LANG": "C.UTF-8",
            "XDG_RUNTIME_DIR": str(self.runtime_dir),
            **extra,
        }

    def run(
        self,
        *args: str,
        root: bool = False,
        input: str | None = None,
        timeout: float = 180,
        prefix: tuple[str, ...] = (),
        env: dict[str, str] | None = None,
        tun: str = "open",
    ) -> subprocess.CompletedProcess:
        return subprocess.run(
            self.argv(*args, root=root, prefix=prefix, tun=tun),
            env=env or self.env(),
            input=input,
            stdin=None if input is not None else subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def popen(self, *args: str, root: bool = False, **kw) -> subprocess.Popen:
        kw.setdefault("stdin", subprocess.DEVNULL)
        kw.setdefault("stdout", subprocess.PIPE)
        kw.setdefault("stderr", subprocess.PIPE)
        return subprocess.Popen(self.argv(*args, root=root), env=self.env(), **kw)

    def python(self, script: str, *args: str) -> list[str]:
        """A command line that runs ``script`` with the venv's interpreter (inside the cage)."""
        return [VENV_PYTHON, "-c", script, *args]


# -- what the cage leaves behind -----------------------------------------------------------


def cage_namespaces(wirecage_pid: int) -> set[tuple[str, int]]:
    """The namespaces of the cage: wirecage's own network and mount namespaces, and the PID
    namespace its children are born in."""
    return {
        (kind, os.stat(f"/proc/{wirecage_pid}/ns/{kind}").st_ino)
        for kind in ("net", "mnt", "pid_for_children")
    }


def pid_of(marker: str) -> int | None:
    """A process whose whole command line is ``marker``."""
    proc = subprocess.run(["pgrep", "-f", "-x", marker], capture_output=True, text=True)
    pids = proc.stdout.split()
    return int(pids[0]) if pids else None


def nothing_left(inodes: set[tuple[str, int]], markers: Sequence[str] = ()) -> bool:
    """No process runs in the cage's namespaces, and none with a marker command line."""
    for marker in markers:
        if pid_of(marker) is not None:
            return False
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        for kind, inode in inodes:
            kind = "pid" if kind == "pid_for_children" else kind
            try:
                if os.stat(f"/proc/{entry.name}/ns/{kind}").st_ino == inode:
                    return False
            except OSError:
                continue
    return True

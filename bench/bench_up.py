#!/usr/bin/env python3
"""wirecage against wireguard-go as the client, in one run, interleaved (A B A B).

    sudo /opt/wirecage-venv/bin/python bench/bench_up.py [--rounds 3] [--seconds 5]

One wireguard-go server in its own network namespace (tunnel 10.77.0.1, iperf3 server), a
"client host" namespace joined to it by a veth pair, and in that client host both clients:
wireguard-go (tunnel 10.77.0.3, the reference) and ``wirecage up`` (tunnel 10.77.0.2, run as
``nobody``, rootless). Measured per round, alternating the two clients:

- iperf3 TCP throughput, upload (client to server) and download (``-R``), with the CPU time
  (user + system) the client spent meanwhile: the wirecage process (not the iperf3 it
  runs), or the wireguard-go client process;
- ping round-trip time (median of the echo replies);
- the time of ``wirecage up --wait PROFILE -- true`` (the handshake included).

Prints each figure, the medians and the ratios wirecage / wireguard-go. The machine is shared
and noisy: compare the ratios of one run, not absolute figures across runs. Needs root (the
namespaces), wireguard-go, wg and iperf3; /dev/net/tun is made 0666 for the run and put back.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import stat
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src"), str(ROOT / "tests")]

from topology import Netns, WgPeerSpec, WireguardGo, veth_pair  # noqa: E402
from wirecage.wg.keys import PrivateKey  # noqa: E402

NOBODY = 65534
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def cpu_seconds(pid: int) -> float:
    """User + system time of a process so far (all its threads, not its children)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def run(argv, **kw):
    kw.setdefault("capture_output", True)
    kw.setdefault("text", True)
    proc = subprocess.run(argv, timeout=kw.pop("timeout", 300), **kw)
    if proc.returncode != 0:
        raise SystemExit(f"bench: {' '.join(argv[:12])}... exited {proc.returncode}: {proc.stderr}")
    return proc


class Bench:
    def __init__(self, args):
        self.args = args
        rnd = random.Random(11)
        self.server_key = PrivateKey.generate(rnd.randbytes)
        self.cage_key = PrivateKey.generate(rnd.randbytes)
        self.ref_key = PrivateKey.generate(rnd.randbytes)

    def setup(self, stack):
        self.tmp = Path(tempfile.mkdtemp(prefix="wc-bench-"))
        stack.append(lambda: shutil.rmtree(self.tmp, ignore_errors=True))
        os.chmod(self.tmp, 0o755)
        shutil.copytree(
            ROOT / "src" / "wirecage",
            self.tmp / "src" / "wirecage",
            ignore=shutil.ignore_patterns("__pycache__"),
        )
        # Compiled once here, as an installed package is: nobody cannot write __pycache__.
        run([sys.executable, "-m", "compileall", "-q", str(self.tmp / "src")])
        for root, _dirs, files in os.walk(self.tmp):
            os.chmod(root, 0o755)
            for name in files:
                os.chmod(os.path.join(root, name), 0o644)
        mode = stat.S_IMODE(os.stat("/dev/net/tun").st_mode)
        os.chmod("/dev/net/tun", 0o666)
        stack.append(lambda: os.chmod("/dev/net/tun", mode))

        self.server = Netns("bsrv").__enter__()
        stack.append(self.server.close)
        self.host = Netns("bcli").__enter__()
        stack.append(self.host.close)
        veth_pair(self.host, self.server, ["198.51.100.2/24"], ["198.51.100.1/24"])
        tag = os.getpid() % 10000
        wg_server = WireguardGo(
            self.server,
            f"wcbs{tag}",
            self.server_key.to_base64(),
            51820,
            ["10.77.0.1/24"],
            [
                WgPeerSpec(self.cage_key.public_key().to_base64(), ["10.77.0.2/32"]),
                WgPeerSpec(self.ref_key.public_key().to_base64(), ["10.77.0.3/32"]),
            ],
        )
        wg_server.start()
        stack.append(wg_server.close)
        wg_ref = WireguardGo(
            self.host,
            f"wcbc{tag}",
            self.ref_key.to_base64(),
            51821,
            ["10.77.0.3/24"],
            [
                WgPeerSpec(
                    self.server_key.public_key().to_base64(),
                    ["10.77.0.0/24"],
                    endpoint="198.51.100.1:51820",
                )
            ],
        )
        wg_ref.start()
        stack.append(wg_ref.close)
        self.wg_ref = wg_ref
        iperf = self.server.popen(["iperf3", "-s", "-B", "10.77.0.1"], stdout=subprocess.DEVNULL)
        stack.append(iperf.kill)

        profile = self.tmp / "bench.conf"
        profile.write_text(
            "[Interface]\n"
            f"PrivateKey = {self.cage_key.to_base64()}\n"
            "Address = 10.77.0.2/32\n\n"
            "[Peer]\n"
            f"PublicKey = {self.server_key.public_key().to_base64()}\n"
            "Endpoint = 198.51.100.1:51820\n"
            "AllowedIPs = 10.77.0.0/24\n"
        )
        os.chown(profile, NOBODY, NOBODY)
        os.chmod(profile, 0o600)
        self.profile = str(profile)
        # Both clients reach the server once before measuring (handshakes, ARP).
        run(self.host.exec_prefix() + ["ping", "-c", "1", "-W", "5", "10.77.0.1"])
        self.cage(["ping", "-c", "1", "-W", "5", "10.77.0.1"])

    def cage_argv(self, command, *, wait=False):
        # nsenter, not `ip netns exec` (which remounts /sys first): time wirecage, not that.
        argv = ["nsenter", f"--net=/run/netns/{self.host.name}", "--"] + [
            "setpriv",
            f"--reuid={NOBODY}",
            f"--regid={NOBODY}",
            "--clear-groups",
            sys.executable,
            "-m",
            "wirecage",
            "up",
            "-q",
        ]
        if wait:
            argv.append("--wait")
        return argv + [self.profile, "--", *command]

    def cage(self, command, *, wait=False):
        env = {"PATH": PATH, "PYTHONPATH": str(self.tmp / "src"), "LANG": "C.UTF-8"}
        return run(self.cage_argv(command, wait=wait), env=env)

    def cage_with_cpu(self, command):
        """Run ``command`` in a cage; its output and the CPU time wirecage itself spent."""
        env = {"PATH": PATH, "PYTHONPATH": str(self.tmp / "src"), "LANG": "C.UTF-8"}
        # nsenter and setpriv exec, so the child's pid is wirecage's. Sampled until it
        # exits (the last sample misses at most one interval of its end).
        proc = subprocess.Popen(
            self.cage_argv(command), env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        samples = [0.0]

        def sample() -> None:
            while proc.poll() is None:
                try:
                    samples.append(cpu_seconds(proc.pid))
                except (OSError, ValueError, IndexError):
                    return
                time.sleep(0.05)

        sampler = threading.Thread(target=sample)
        sampler.start()
        out, err = proc.communicate(timeout=300)
        sampler.join()
        if proc.returncode != 0:
            raise SystemExit(f"bench: wirecage exited {proc.returncode}: {err.decode()}")
        return out.decode(), samples[-1]

    def ref_with_cpu(self, command):
        before = cpu_seconds(self.wg_ref.proc.pid)
        out = self.ref(command).stdout
        return out, cpu_seconds(self.wg_ref.proc.pid) - before

    def ref(self, command):
        return run(self.host.exec_prefix() + command)

    def iperf(self, client, reverse):
        """Mbit/s received, and the client's CPU seconds during the run."""
        cmd = ["iperf3", "-c", "10.77.0.1", "-t", str(self.args.seconds), "-J"]
        if reverse:
            cmd.append("-R")
        run_with_cpu = self.cage_with_cpu if client == self.cage else self.ref_with_cpu
        text, cpu = run_with_cpu(cmd)
        out = json.loads(text)
        return out["end"]["sum_received"]["bits_per_second"] / 1e6, cpu

    def ping(self, client):
        out = client(["ping", "-c", str(self.args.pings), "-i", "0.2", "10.77.0.1"]).stdout
        times = [float(t) for t in re.findall(r"time=([\d.]+) ms", out)]
        return statistics.median(times)

    def up_true(self):
        env = {"PATH": PATH, "PYTHONPATH": str(self.tmp / "src"), "LANG": "C.UTF-8"}
        argv = self.cage_argv(["true"], wait=True)
        started = time.perf_counter()
        run(argv, env=env)
        return (time.perf_counter() - started) * 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=5, help="per iperf3 run")
    parser.add_argument("--pings", type=int, default=20, help="echo requests per ping run")
    parser.add_argument("--up-runs", type=int, default=10, help="`up -- true` runs per round")
    args = parser.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("bench: needs root (network namespaces)")
    for tool in ("wireguard-go", "wg", "iperf3", "setpriv"):
        if shutil.which(tool) is None:
            raise SystemExit(f"bench: needs {tool}")

    bench = Bench(args)
    stack: list = []
    results: dict[str, dict[str, list[float]]] = {
        k: {"wirecage": [], "wireguard-go": []}
        for k in ("upload", "download", "ping", "upload CPU/Gbit", "download CPU/Gbit")
    }
    up_times: list[float] = []
    try:
        bench.setup(stack)
        clients = {"wirecage": bench.cage, "wireguard-go": bench.ref}
        for rnd in range(args.rounds):
            order = list(clients) if rnd % 2 == 0 else list(reversed(clients))
            for name in order:
                for key, reverse in (("upload", False), ("download", True)):
                    mbps, cpu = bench.iperf(clients[name], reverse)
                    results[key][name].append(mbps)
                    # CPU seconds per Gbit moved: fair when the two move different amounts.
                    results[f"{key} CPU/Gbit"][name].append(cpu / (mbps * args.seconds / 1000))
                    print(
                        f"round {rnd + 1} {name:12} {key:8} {mbps:8.1f} Mbit/s"
                        f"  client CPU {cpu:5.2f} s",
                        flush=True,
                    )
                rtt = bench.ping(clients[name])
                results["ping"][name].append(rtt)
                print(f"round {rnd + 1} {name:12} ping     {rtt:8.3f} ms", flush=True)
            for _ in range(args.up_runs):
                up_times.append(bench.up_true())
            recent = [round(t) for t in up_times[-args.up_runs :]]
            print(f"round {rnd + 1} up --wait -- true: {recent} ms", flush=True)
    finally:
        for undo in reversed(stack):
            try:
                undo()
            except Exception as exc:  # noqa: BLE001
                print(f"bench: cleanup: {exc}", file=sys.stderr)

    print("\nmedians (wirecage / wireguard-go as the client, same wireguard-go server):")
    rows = (
        ("upload", "Mbit/s"),
        ("download", "Mbit/s"),
        ("ping", "ms"),
        ("upload CPU/Gbit", "s"),
        ("download CPU/Gbit", "s"),
    )
    for key, unit in rows:
        a = statistics.median(results[key]["wirecage"])
        b = statistics.median(results[key]["wireguard-go"])
        print(
            f"  {key:17} wirecage {a:8.2f} {unit:6}  wireguard-go {b:8.2f} {unit:6}"
            f"  ratio {a / b:5.2f}"
        )
    print(
        f"  up --wait PROFILE -- true: median {statistics.median(up_times):.0f} ms "
        f"(min {min(up_times):.0f}, max {max(up_times):.0f}, n={len(up_times)})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

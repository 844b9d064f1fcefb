"""Packets per second of the protocol core alone: encapsulate and decapsulate, one core.

Two Tunnels complete a handshake in memory; then one side seals N packets
(``send_packets``) and the other opens them (``receive_datagrams``), each timed on its own.
No sockets, no TUN: this is the ceiling the datapath can reach with this core.

    /opt/wirecage-venv/bin/python bench/core_bench.py [--packets N] [--sizes 1420,64]
"""

from __future__ import annotations

import argparse
import os
import random
import struct
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "src"))

from wirecage.wg.keys import PrivateKey  # noqa: E402
from wirecage.wg.tunnel import Deliver, PeerConfig, Transmit, Tunnel  # noqa: E402

A_EP = ("198.51.100.1", 51820)
B_EP = ("198.51.100.2", 51820)


def ipv4_packet(size: int) -> bytes:
    header = struct.pack(
        "!BBHHHBBH4s4s",
        0x45,
        0,
        size,
        1,
        0,
        64,
        17,
        0,
        bytes([10, 77, 0, 1]),
        bytes([10, 77, 0, 2]),
    )
    return header + bytes(size - len(header))


def pair() -> tuple[Tunnel, Tunnel]:
    rng = random.Random(1)
    ka, kb = PrivateKey.generate(rng.randbytes), PrivateKey.generate(rng.randbytes)
    now = 100.0
    a = Tunnel(
        ka,
        [PeerConfig(kb.public_key(), endpoint=B_EP, allowed_ips=["10.77.0.2/32"])],
        now=now,
        randbytes=os.urandom,
        wall_time=time.time,
    )
    b = Tunnel(
        kb,
        [PeerConfig(ka.public_key(), endpoint=A_EP, allowed_ips=["10.77.0.1/32"])],
        now=now,
        randbytes=os.urandom,
        wall_time=time.time,
    )
    (init,) = a.initiate_handshakes(now)
    (resp,) = b.receive_datagram(init.data, A_EP, now)
    outs = a.receive_datagram(resp.data, B_EP, now)
    keepalive = next(o for o in outs if isinstance(o, Transmit))
    b.receive_datagram(keepalive.data, A_EP, now)
    return a, b


def run(size: int, count: int, batch: int, rounds: int) -> tuple[float, float]:
    a, b = pair()
    packet = ipv4_packet(size)
    packets = [packet] * batch
    now = 101.0
    best_enc = best_dec = 0.0
    for _ in range(rounds):
        datagrams = []
        t0 = time.perf_counter()
        for _ in range(count // batch):
            outs = a.send_packets(packets, now)
            datagrams.append(outs)
        t1 = time.perf_counter()
        src = A_EP
        inputs = [[(o.data, src) for o in outs] for outs in datagrams]
        t2 = time.perf_counter()
        delivered = 0
        for chunk in inputs:
            delivered += len(b.receive_datagrams(chunk, now))
        t3 = time.perf_counter()
        assert all(isinstance(o, Transmit) for o in datagrams[0])
        last = b.receive_datagrams(inputs[-1][:0], now)
        assert delivered == (count // batch) * batch and not last
        best_enc = max(best_enc, (count // batch) * batch / (t1 - t0))
        best_dec = max(best_dec, delivered / (t3 - t2))
    # The core must have delivered real packets, not drops.
    check = b.receive_datagrams([(a.send_packet(packet, now)[0].data, src)], now)
    assert isinstance(check[0], Deliver) and check[0].packet == packet
    return best_enc, best_dec


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--packets", type=int, default=200_000)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--sizes", default="1420,64")
    args = parser.parse_args()
    print(
        f"python {sys.version.split()[0]}, {args.packets} packets, batch {args.batch}, "
        f"best of {args.rounds}"
    )
    for size in (int(s) for s in args.sizes.split(",")):
        enc, dec = run(size, args.packets, args.batch, args.rounds)
        print(
            f"{size:5d} B  encapsulate {enc:10,.0f} pkt/s ({enc * size * 8 / 1e9:5.2f} Gbit/s)"
            f"   decapsulate {dec:10,.0f} pkt/s ({dec * size * 8 / 1e9:5.2f} Gbit/s)"
        )


if __name__ == "__main__":
    main()

"""The DNS overlay: inside the cage, names are resolved only through the tunnel.

Three holes would let a name be resolved outside the tunnel, and each gets a cover in the
cage's private mount namespace:

- ``/etc/resolv.conf``: a generated file with the profile's nameservers and search domains
  is bind-mounted over it (a symlinked target is followed; a dangling one, as with a
  systemd-resolved stub that does not exist, gets a tmpfs over the directory it points into).
- ``/etc/nsswitch.conf``: glibc's ``resolve`` (systemd-resolved), ``myhostname`` or
  ``mdns`` modules answer without a DNS packet; the cage's copy says ``hosts: files dns``.
- Filesystem sockets cross network namespaces: systemd-resolved's varlink socket and nscd's
  socket would answer from the host. ``/dev/null`` is bind-mounted over them, so connecting
  fails and glibc falls back to DNS through the tunnel.

Everything happens after ``/`` was made private recursively, so no mount leaks to the host.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Iterable, Sequence
from pathlib import Path

from wirecage.cage import libc
from wirecage.logs import get_logger

log = get_logger("wirecage.cage")

RESOLV_CONF = "/etc/resolv.conf"
NSSWITCH_CONF = "/etc/nsswitch.conf"
# Sockets through which a name could be resolved on the host, outside the tunnel.
RESOLVER_SOCKETS = (
    "/run/systemd/resolve/io.systemd.Resolve",
    "/run/nscd/socket",
    "/var/run/nscd/socket",
)
NSSWITCH_HOSTS = "hosts:          files dns"


def render_resolv_conf(
    nameservers: Sequence[ipaddress.IPv4Address | ipaddress.IPv6Address],
    search: Sequence[str],
    profile: str,
) -> str:
    lines = [f"# written by wirecage for the cage of profile {profile}"]
    lines += [f"nameserver {ns}" for ns in nameservers]
    if search:
        lines.append("search " + " ".join(search))
    return "\n".join(lines) + "\n"


def render_nsswitch_conf(host_text: str | None) -> str:
    """The host's nsswitch.conf with its hosts line replaced by ``files dns``."""
    if host_text is None:
        return "# written by wirecage\n" + NSSWITCH_HOSTS + "\n"
    out, seen = [], False
    for line in host_text.splitlines():
        if line.split(":", 1)[0].strip() == "hosts" and ":" in line:
            if not seen:
                out.append(NSSWITCH_HOSTS)
            seen = True
        else:
            out.append(line)
    if not seen:
        out.append(NSSWITCH_HOSTS)
    return "\n".join(out) + "\n"


def host_nameservers(text: str) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    found = []
    for line in text.splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[0] == "nameserver":
            try:
                found.append(ipaddress.ip_address(parts[1].split("%")[0]))
            except ValueError:
                continue
    return found


def unreachable_host_nameservers(text: str) -> list[str]:
    """Nameservers of the host's resolv.conf that a cage cannot reach (loopback ones)."""
    return [str(ns) for ns in host_nameservers(text) if ns.is_loopback]


def make_mounts_private() -> None:
    """Stop mounts made from now on from propagating to the host (and back)."""
    libc.mount(None, "/", None, libc.MS_REC | libc.MS_PRIVATE)


def bind_file(source: str, target: str) -> None:
    """Bind-mount the file ``source`` over ``target``, following a symlinked target.

    A dangling symlink cannot be a mount point; then a tmpfs goes over the directory it
    points into, holding a copy of ``source`` under the link's name (and hiding whatever
    else that directory held, which for a resolver's runtime directory is the point).
    """
    try:
        libc.mount(source, target, None, libc.MS_BIND)
        return
    except FileNotFoundError:
        if not os.path.islink(target):
            raise
    real = Path(os.path.realpath(target))
    if not real.parent.is_dir():
        raise FileNotFoundError(
            2, f"{target} is a symbolic link to {real}, in a directory that does not exist"
        )
    libc.mount("tmpfs", str(real.parent), "tmpfs", libc.MS_NOSUID | libc.MS_NODEV, "mode=0755")
    real.write_bytes(Path(source).read_bytes())
    os.chmod(real, 0o644)


def mask_sockets(paths: Iterable[str] = RESOLVER_SOCKETS) -> list[str]:
    """Cover every existing resolver socket with /dev/null; returns the ones masked."""
    masked: list[str] = []
    seen: set[str] = set()
    for path in paths:
        real = os.path.realpath(path)
        if real in seen or not os.path.exists(real):
            continue
        seen.add(real)
        libc.mount("/dev/null", real, None, libc.MS_BIND)
        masked.append(path)
    return masked


def apply_overlay(
    *, resolv_conf: str | None, nsswitch_conf: str | None, sockets: Iterable[str] = RESOLVER_SOCKETS
) -> list[str]:
    """Mount the overlay (the caller made mounts private). Returns a description per step."""
    steps = []
    if resolv_conf is not None:
        bind_file(resolv_conf, RESOLV_CONF)
        steps.append(f"{RESOLV_CONF} from {resolv_conf}")
    if nsswitch_conf is not None and os.path.exists(NSSWITCH_CONF):
        bind_file(nsswitch_conf, NSSWITCH_CONF)
        steps.append(f"{NSSWITCH_CONF}: {NSSWITCH_HOSTS.split(None, 1)[1]}")
    for path in mask_sockets(sockets):
        steps.append(f"masked {path}")
    return steps

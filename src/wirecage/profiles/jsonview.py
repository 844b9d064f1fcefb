"""The JSON form of a profile (``wirecage profile show --json``): a stable interface for scripts.

An object with ``name``, ``path``, ``format``, ``interface`` (``public_key``,
``private_key``, ``private_key_file``, ``addresses``, ``dns``, ``dns_search``, ``mtu``,
``listen_port``), ``peers`` (each ``public_key``, ``preshared_key``, ``preshared_key_file``,
``endpoint``, ``allowed_ips``, ``persistent_keepalive``) and ``ignored``. Absent values are
``null``; lists are lists of strings; an endpoint is ``host:port`` or ``[v6]:port``. Secret
keys are the string ``(hidden)`` unless asked for; public keys are always shown.
"""

from __future__ import annotations

from typing import Any

from wirecage.profiles.model import Profile

HIDDEN = "(hidden)"


def _secret(key, show: bool) -> str | None:
    if key is None:
        return None
    return key.to_base64() if show else HIDDEN


def _path(path) -> str | None:
    return None if path is None else str(path)


def profile_to_json(profile: Profile, *, show_keys: bool = False) -> dict[str, Any]:
    iface = profile.interface
    return {
        "name": profile.name,
        "path": _path(profile.path),
        "format": profile.format,
        "interface": {
            "public_key": str(iface.public_key),
            "private_key": _secret(iface.private_key, show_keys),
            "private_key_file": _path(iface.private_key_file),
            "addresses": [str(a) for a in iface.addresses],
            "dns": [str(a) for a in iface.dns],
            "dns_search": list(iface.dns_search),
            "mtu": iface.mtu,
            "listen_port": iface.listen_port,
        },
        "peers": [
            {
                "public_key": str(peer.public_key),
                "preshared_key": _secret(peer.preshared_key, show_keys),
                "preshared_key_file": _path(peer.preshared_key_file),
                "endpoint": None if peer.endpoint is None else str(peer.endpoint),
                "allowed_ips": [str(n) for n in peer.allowed_ips],
                "persistent_keepalive": peer.persistent_keepalive,
            }
            for peer in profile.peers
        ],
        "ignored": list(profile.ignored),
    }

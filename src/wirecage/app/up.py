"""``wirecage up``: run a command in a cage whose only network is a profile's tunnel.

Stage 1, on the host, decides everything that needs the host and can still fail cleanly:
endpoints resolved, UDP sockets opened (they stay on the host network for good), MTU chosen,
target user decided, ``/dev/net/tun`` opened, user namespaces checked, runtime directory
made. Stage 2 enters the cage's namespaces (see ``wirecage.cage.namespaces``), creates and
configures the TUN device, mounts the DNS overlay, forks the cage's init (which starts the
command) and runs the event loop until the command exits.

Every step registers its undo on one ExitStack, and the process stays single-threaded.
Failures before the command runs end wirecage with status 125 and a message; afterwards the
command's own status is wirecage's.
"""

from __future__ import annotations

import contextlib
import errno
import os
import pwd
import socket
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from wirecage.app.endpoints import choose_mtu, resolve_endpoint
from wirecage.app.runtime import RuntimeDir
from wirecage.cage import dns, prereq
from wirecage.cage.libc import SignalFd
from wirecage.cage.namespaces import (
    Identity,
    NetworkPlan,
    configure_network,
    enter_cage,
    prepare_sysctls,
    routes_for,
)
from wirecage.cage.process import RELAYED_SIGNALS, CommandSpec, relay_or_abort, spawn_init
from wirecage.datapath.loop import EventLoop, boottime
from wirecage.datapath.udp import UdpSockets, family_of
from wirecage.errors import CageError
from wirecage.logs import get_logger
from wirecage.profiles.model import IPAddress, Peer, Profile
from wirecage.wg.tunnel import HandshakeCompleted, HandshakeTimedOut, PeerConfig, Transmit, Tunnel

log = get_logger("wirecage")

TUN_NAME = "wg0"
# Without an answer from a peer after this long, say so (the core keeps trying).
NO_ANSWER_WARNING_AFTER = 10.0
ALL_IDS = (0, 2147483647)


# Plain classes rather than dataclasses, here and on the rest of the path of `up`: the
# dataclasses module and the code generation of every @dataclass cost a few milliseconds
# at each start, which `wirecage up -- true` pays in full.


class UpRequest:
    """What the command line asked ``up`` for."""

    __slots__ = ("profile", "command", "dns", "user", "wait", "wait_timeout")

    def __init__(
        self,
        profile: Profile,
        command: Sequence[str] = (),
        dns: Sequence[IPAddress] | None = None,  # --dns: replaces the profile's nameservers
        user: str | None = None,
        wait: bool = False,
        wait_timeout: float = 10.0,
    ):
        self.profile = profile
        self.command = command
        self.dns = dns
        self.user = user
        self.wait = wait
        self.wait_timeout = wait_timeout


class Target:
    """Who the command runs as, and how wirecage gets there."""

    __slots__ = ("identity", "user_namespace", "drop_privileges")

    def __init__(self, identity: Identity, user_namespace: bool, drop_privileges: bool):
        self.identity = identity
        self.user_namespace = user_namespace
        self.drop_privileges = drop_privileges


def profile_label(profile: Profile) -> str:
    if profile.name:
        return profile.name
    if profile.path is not None:
        return Path(profile.path).stem
    return "adhoc"


def decide_target(user: str | None, environ=os.environ) -> Target:
    """Who the command runs as: the caller; under sudo the invoking user; or --user."""
    euid = os.geteuid()
    if euid != 0:
        uid, gid = os.getuid(), os.getgid()
        try:
            pw = pwd.getpwuid(uid)
            name, home, shell = pw.pw_name, pw.pw_dir, pw.pw_shell
        except KeyError:
            name, home, shell = str(uid), environ.get("HOME", "/"), "/bin/sh"
        if user is not None and user not in (name, str(uid)):
            raise CageError(
                f"--user {user}: only root can run the command as another user",
                hint="run wirecage with sudo, or leave out --user",
            )
        return Target(Identity(uid, gid, name, home, shell), True, False)
    try:
        if user is not None:
            pw = pwd.getpwuid(int(user)) if user.isdigit() else pwd.getpwnam(user)
        elif environ.get("SUDO_UID", "0") not in ("", "0"):
            pw = pwd.getpwuid(int(environ["SUDO_UID"]))
        else:
            pw = pwd.getpwuid(0)
    except (KeyError, ValueError):
        raise CageError(f"no such user: {user or environ.get('SUDO_UID')}") from None
    gid = pw.pw_gid
    if user is None and environ.get("SUDO_GID", "").isdigit() and pw.pw_uid != 0:
        gid = int(environ["SUDO_GID"])
    groups = tuple(os.getgrouplist(pw.pw_name, gid))
    identity = Identity(pw.pw_uid, gid, pw.pw_name, pw.pw_dir, pw.pw_shell or "/bin/sh", groups)
    return Target(identity, False, pw.pw_uid != 0)


def command_environment(base: dict[str, str], target: Target, profile: str) -> dict[str, str]:
    env = dict(base)
    if target.drop_privileges:
        ident = target.identity
        env.update(HOME=ident.home, USER=ident.name, LOGNAME=ident.name, SHELL=ident.shell)
    env["WIRECAGE_PROFILE"] = profile
    return env


def default_command(target: Target, environ=os.environ) -> list[str]:
    if target.drop_privileges:
        return [target.identity.shell]
    return [environ.get("SHELL") or target.identity.shell or "/bin/sh"]


def _silent_peer_warning(peer: Peer, endpoint: tuple[str, int], our_key: str, after: float) -> str:
    host, port = endpoint
    where = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    return (
        f"no handshake with peer {peer.public_key.short()} at {where} after {after:.0f} s: "
        "is the endpoint right and reachable over UDP (firewall, port), does the peer know "
        f"this profile's public key {our_key}, is its public key in the profile right?"
    )


class Up:
    """One run of ``wirecage up``."""

    def __init__(self, request: UpRequest):
        self.request = request
        self.profile = request.profile
        self.label = profile_label(self.profile)
        self.failure: CageError | None = None

    # -- stage 1: on the host -------------------------------------------------------------

    def run(self) -> int:
        with contextlib.ExitStack() as stack:
            status = self._run(stack)
        log.debug("cage taken down")
        return status

    def _run(self, stack: contextlib.ExitStack) -> int:
        req, profile = self.request, self.profile
        log.debug("profile %s loaded", self.label)
        if not profile.interface.addresses:
            raise CageError(
                f"profile {self.label} has no Address: the cage needs a tunnel address",
                hint="add 'Address = 10.x.y.z/32' to the [Interface] section",
            )
        if not profile.peers:
            raise CageError(f"profile {self.label} has no [Peer]")

        endpoints: list[tuple[Peer, tuple[str, int] | None]] = []
        for peer in profile.peers:
            addr = resolve_endpoint(peer, peer.endpoint) if peer.endpoint else None
            if addr is not None:
                log.info(
                    "peer %s: endpoint %s is %s", peer.public_key.short(), peer.endpoint, addr[0]
                )
            endpoints.append((peer, addr))
        resolved = [a for _, a in endpoints if a is not None]

        families = {family_of(host) for host, _ in resolved} or {socket.AF_INET}
        try:
            udp = UdpSockets.open(families, profile.interface.listen_port)
        except OSError as exc:
            port = profile.interface.listen_port
            raise CageError(
                f"cannot open the tunnel's UDP socket{f' on port {port}' if port else ''}: "
                f"{exc.strerror}",
                hint=(
                    None
                    if not port
                    else "ports below 1024 need privileges: choose a ListenPort of 1024 or more"
                    if exc.errno == errno.EACCES
                    else "another program may use this ListenPort"
                ),
            ) from None
        stack.callback(udp.close)
        log.info("UDP socket(s) on port(s) %s", sorted(udp.local_ports().values()))

        mtu = choose_mtu(
            profile.interface.mtu,
            resolved,
            ipv6=any(a.version == 6 for a in profile.interface.addresses),
        )
        target = decide_target(req.user)
        if target.user_namespace:
            prereq.check_user_namespaces()
        # A check only: a TUN device is created in the network namespace that was current
        # when /dev/net/tun was opened, so the descriptor we use is opened inside the cage.
        os.close(prereq.open_tun())

        # The handshake starts now, from the host: its round trip overlaps the building of
        # the cage, and the response waits in the UDP socket until the event loop runs.
        now = boottime()
        tunnel = Tunnel(
            profile.interface.private_key,
            [
                PeerConfig(
                    peer.public_key,
                    preshared_key=peer.preshared_key,
                    endpoint=addr,
                    allowed_ips=tuple(peer.allowed_ips),
                    persistent_keepalive=peer.persistent_keepalive or None,
                )
                for peer, addr in endpoints
            ],
            now=now,
            randbytes=os.urandom,
            wall_time=time.time,
            mtu=mtu,
        )
        # Transmit them at once; anything else (drops, events) goes through the loop later.
        deferred = []
        for out in tunnel.initiate_handshakes(now):
            if type(out) is Transmit:
                udp.send(out.data, out.endpoint)
            else:
                deferred.append(out)
        log.debug("handshake initiation sent")

        runtime = RuntimeDir.create(self.label)
        stack.callback(runtime.remove)
        log.debug("runtime directory %s", runtime.path)
        if runtime.running_before:
            # One private key, two endpoints: the peer sees one peer that roams, and sends
            # everything to whichever cage spoke last, cutting the other off.
            log.warning(
                "another cage of %s is running with the same private key: the peer follows "
                "whichever cage spoke last, so each may lose its connections",
                self.label,
            )
        allowed = [net for peer in profile.peers for net in peer.allowed_ips]
        resolv_conf, nsswitch_conf = self._dns_files(runtime, allowed)
        runtime.write_info(
            {
                "pid": os.getpid(),
                "profile": self.label,
                "addresses": [str(a) for a in profile.interface.addresses],
                "uid": target.identity.uid,
            }
        )

        plan = NetworkPlan(TUN_NAME, mtu, profile.interface.addresses, routes_for(allowed))
        argv = list(req.command) or default_command(target)
        spec = CommandSpec(
            argv=argv,
            env=command_environment(dict(os.environ), target, self.label),
            identity=target.identity,
            drop_privileges=target.drop_privileges,
        )

        # -- stage 2: inside ------------------------------------------------------------
        self._enter(target)
        tun_fd = prereq.open_tun()
        stack.callback(_close_quietly, tun_fd)
        self._configure(tun_fd, plan, target, resolv_conf, nsswitch_conf)

        signals = SignalFd(RELAYED_SIGNALS)
        stack.callback(signals.close)
        init = spawn_init(spec)
        stack.callback(init.close)
        log.info("cage ready")

        def start_command() -> None:
            if not init.command_started:
                log.info("command started: %s", argv[0])
                init.start_command()

        loop = EventLoop(tunnel, tun_fd, udp)
        stack.callback(loop.close)
        completed: set = set()
        wait_timer: list[int] = []

        def on_event(event: object) -> None:
            if isinstance(event, HandshakeCompleted) and event.peer is not None:
                if event.peer not in completed:
                    log.info("handshake with peer %s completed", event.peer.short())
                completed.add(event.peer)
                if not init.command_started:
                    start_command()
                    for handle in wait_timer:
                        loop.cancel(handle)
            elif isinstance(event, HandshakeTimedOut) and req.wait and not init.command_started:
                # The core gives up after REKEY_ATTEMPT_TIME; --wait may wait longer, and
                # nothing of the command's is queued yet: start the attempts afresh. The
                # wait timer reports a peer that never answers.
                loop.process(tunnel.initiate_handshakes(boottime()))
            elif isinstance(event, HandshakeTimedOut) and event.peer not in completed:
                for peer, addr in endpoints:
                    if peer.public_key == event.peer and addr is not None:
                        log.warning(
                            "%s",
                            _silent_peer_warning(peer, addr, our_key, boottime() - now),
                        )

        our_key = profile.interface.public_key.short()
        loop.on_event = on_event

        def on_signals() -> None:
            result = relay_or_abort(init, signals.read_all())
            if result is not None:
                log.error("interrupted before the command started")
                loop.stop(result)

        def on_init_exit() -> None:
            loop.stop(init.reap())

        def warn_silent_peers() -> None:
            for peer, addr in endpoints:
                if addr is not None and peer.public_key not in completed:
                    log.warning(
                        "%s", _silent_peer_warning(peer, addr, our_key, NO_ANSWER_WARNING_AFTER)
                    )

        def on_wait_timeout() -> None:
            silent = [
                _silent_peer_warning(p, a, our_key, req.wait_timeout)
                for p, a in endpoints
                if a is not None and p.public_key not in completed
            ]
            self.failure = CageError(
                f"--wait: no handshake within {req.wait_timeout:g} s; "
                + (silent[0] if silent else "no peer has an endpoint"),
                hint="raise --wait-timeout if the peer is slow to answer",
            )
            loop.stop(self.failure.exit_code)

        loop.add_reader(signals.fd, on_signals)
        loop.add_reader(init.pidfd, on_init_exit)
        loop.call_at(now + NO_ANSWER_WARNING_AFTER, warn_silent_peers)
        if req.wait:
            wait_timer.append(loop.call_at(now + req.wait_timeout, on_wait_timeout))
        else:
            start_command()
        loop.process(deferred)

        status = loop.run()
        log.debug("command exited with status %d", status)
        if loop.dropped:
            log.info("dropped: %s", ", ".join(f"{k} {v}" for k, v in loop.dropped.items()))
        if self.failure is not None:
            raise self.failure
        return status

    # -- helpers --------------------------------------------------------------------------

    def _dns_files(self, runtime: RuntimeDir, allowed: list) -> tuple[str | None, str]:
        profile, req = self.profile, self.request
        nameservers = list(req.dns) if req.dns else list(profile.interface.dns)
        try:
            host_nsswitch: str | None = Path(dns.NSSWITCH_CONF).read_text()
        except OSError:
            host_nsswitch = None
        nsswitch = runtime.write("nsswitch.conf", dns.render_nsswitch_conf(host_nsswitch))
        unroutable = [
            str(ns)
            for ns in nameservers
            if not any(ns.version == net.version and ns in net for net in allowed)
        ]
        if unroutable:
            # The cage's only routes are the AllowedIPs: such a nameserver is never reached.
            log.warning(
                "nameserver %s is outside the AllowedIPs of %s: the cage has no route to it, "
                "so names will not resolve through it",
                ", ".join(unroutable),
                self.label,
            )
        if profile.interface.dns_search and not nameservers:
            log.warning(
                "profile %s gives search domains (%s) but no nameserver: the host's "
                "resolv.conf is kept and the search domains are not used",
                self.label,
                ", ".join(profile.interface.dns_search),
            )
        if nameservers:
            text = dns.render_resolv_conf(nameservers, profile.interface.dns_search, self.label)
            return runtime.write("resolv.conf", text), nsswitch
        try:
            loopback = dns.unreachable_host_nameservers(Path(dns.RESOLV_CONF).read_text())
        except OSError:
            loopback = []
        if loopback:
            log.warning(
                "profile %s has no DNS and the host's resolver %s is a loopback address the "
                "cage cannot reach: names will not resolve inside (add DNS = to the profile "
                "or use --dns IP)",
                self.label,
                ", ".join(loopback),
            )
        return None, nsswitch

    def _enter(self, target: Target) -> None:
        ident = target.identity
        try:
            enter_cage(user_namespace=target.user_namespace, uid=ident.uid, gid=ident.gid)
        except OSError as exc:
            step = exc.filename or "unshare"
            if target.user_namespace:
                raise prereq.explain_userns_failure(exc, step) from None
            raise CageError(
                f"cannot create the cage's namespaces ({step}: {exc.strerror})"
            ) from None
        kinds = "network, mount, pid"
        if target.user_namespace:
            kinds = f"user (uid {ident.uid} mapped to itself), {kinds}"
        log.info("entered new namespaces: %s", kinds)

    def _configure(
        self,
        tun_fd: int,
        plan: NetworkPlan,
        target: Target,
        resolv_conf: str | None,
        nsswitch_conf: str,
    ) -> None:
        gid = target.identity.gid
        try:
            steps = prepare_sysctls(ping_gids=(gid, gid) if target.user_namespace else ALL_IDS)
            for step in steps:
                log.info("sysctl %s", step)
            configure_network(tun_fd, plan)
        except OSError as exc:
            done = "; ".join(plan.steps)
            raise CageError(
                f"cannot configure the cage's network: {exc.strerror or exc}"
                + (f" ({exc.filename})" if exc.filename else "")
                + (f" after: {done}" if done else ""),
            ) from exc
        for step in plan.steps:
            log.info("network: %s", step)
        try:
            dns.make_mounts_private()
            for step in dns.apply_overlay(resolv_conf=resolv_conf, nsswitch_conf=nsswitch_conf):
                log.info("dns: %s", step)
        except OSError as exc:
            raise CageError(
                f"cannot set up the cage's DNS: {exc.strerror or exc}"
                + (f" ({exc.filename})" if exc.filename else ""),
                hint="a symlinked /etc/resolv.conf must point to an existing file or directory",
            ) from None


def _close_quietly(fd: int) -> None:
    with contextlib.suppress(OSError):
        os.close(fd)


def run_up(request: UpRequest) -> int:
    sys.stdout.flush()
    return Up(request).run()

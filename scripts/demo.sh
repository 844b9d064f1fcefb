#!/usr/bin/env bash
# wirecage's main job on an embedded default, on a fresh Debian machine, in one command:
#
#     sudo ./scripts/demo.sh
#
# 1. installs what is missing (scripts/setup.sh: wireguard-go, wg, a venv with cryptography);
# 2. starts a throwaway WireGuard server: wireguard-go in its own network namespace, joined to
#    this host by a veth pair (198.51.100.1 here, 198.51.100.2 there), with a web page on its
#    tunnel address 10.77.0.1;
# 3. writes a profile for it and runs, as the user who called sudo (rootless):
#        wirecage up --wait demo.conf -- python3 -c '<fetch http://10.77.0.1/>'
#    which prints the page, fetched through the cage whose only way out is the tunnel;
# 4. removes everything it made, even when interrupted.
#
# Root is needed for the server's namespace and the veth pair only; wirecage itself runs as
# the invoking user ($SUDO_USER; as root when there is none). If /dev/net/tun is not usable
# by that user (some machines ship it 0600), it is made 0666 for the demo and put back after.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" -ne 0 ]; then
    echo "demo: needs root for the server's network namespace: sudo $0" >&2
    exit 1
fi
VENV=${WIRECAGE_VENV:-/opt/wirecage-venv}
PY="$VENV/bin/python"
if ! command -v wireguard-go >/dev/null || ! command -v wg >/dev/null \
        || ! "$PY" -c 'import cryptography' 2>/dev/null; then
    bash scripts/setup.sh
fi
SRC="$PWD/src"

NS=wcdemo-$$
IFACE=wcdemo$$
VETH_HOST=wcdh$$
VETH_SRV=wcds$$
USER_NAME=${SUDO_USER:-root}
TMP=$(mktemp -d /tmp/wirecage-demo.XXXXXX)
TUN_MODE=$(stat -c %a /dev/net/tun)

cleanup() {
    set +e
    for pid in $(ip netns pids "$NS" 2>/dev/null); do kill "$pid" 2>/dev/null; done
    ip netns del "$NS" 2>/dev/null
    ip link del "$VETH_HOST" 2>/dev/null
    rm -f "/var/run/wireguard/$IFACE.sock"
    chmod "$TUN_MODE" /dev/net/tun
    rm -rf "$TMP"
}
trap cleanup EXIT INT TERM

echo "demo: starting a WireGuard server (wireguard-go) in network namespace $NS"
ip netns add "$NS"
ip -n "$NS" link set lo up
ip link add "$VETH_HOST" type veth peer name "$VETH_SRV" netns "$NS"
ip addr add 198.51.100.1/30 dev "$VETH_HOST"
ip link set "$VETH_HOST" up
ip -n "$NS" addr add 198.51.100.2/30 dev "$VETH_SRV"
ip -n "$NS" link set "$VETH_SRV" up

umask 077
wg genkey > "$TMP/server.key"
wg genkey > "$TMP/client.key"
SERVER_PUB=$(wg pubkey < "$TMP/server.key")
CLIENT_PUB=$(wg pubkey < "$TMP/client.key")
# wireguard-go daemonizes once the device is ready, so its exit is the signal to go on.
ip netns exec "$NS" wireguard-go "$IFACE" >"$TMP/wireguard-go.log" 2>&1 \
    || { cat "$TMP/wireguard-go.log" >&2; exit 1; }
ip netns exec "$NS" wg set "$IFACE" private-key "$TMP/server.key" listen-port 51820 \
    peer "$CLIENT_PUB" allowed-ips 10.77.0.2/32
ip -n "$NS" addr add 10.77.0.1/24 dev "$IFACE"
ip -n "$NS" link set "$IFACE" up

mkdir "$TMP/www"
cat > "$TMP/www/index.html" <<'EOF'
<!doctype html><title>wirecage demo</title>
<p>Hello from 10.77.0.1: this page came through the WireGuard tunnel, into the cage.</p>
EOF
# The web server prints "ready" once it listens; reading that line is the synchronisation.
coproc WEB {
    exec ip netns exec "$NS" "$PY" -u -c '
import functools, http.server, sys
class Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args): pass
server = http.server.HTTPServer(("10.77.0.1", 80), functools.partial(Quiet, directory=sys.argv[1]))
print("ready")
server.serve_forever()
' "$TMP/www"
}
read -r _ <&"${WEB[0]}"

cat > "$TMP/demo.conf" <<EOF
[Interface]
PrivateKey = $(cat "$TMP/client.key")
Address = 10.77.0.2/32
DNS = 10.77.0.1

[Peer]
PublicKey = $SERVER_PUB
Endpoint = 198.51.100.2:51820
AllowedIPs = 10.77.0.0/24
EOF
chmod 755 "$TMP"
chown "$USER_NAME" "$TMP/demo.conf"
chmod 600 "$TMP/demo.conf"

as_user=()
if [ "$USER_NAME" != root ]; then
    as_user=(setpriv --reuid "$USER_NAME" --regid "$(id -g "$USER_NAME")" --init-groups)
    if ! "${as_user[@]}" test -r /dev/net/tun -a -w /dev/net/tun; then
        echo "demo: /dev/net/tun is mode $TUN_MODE; making it 0666 for the demo (restored after)"
        chmod 0666 /dev/net/tun
    fi
fi

echo "demo: running as $USER_NAME: wirecage up --wait demo.conf -- python3 (fetch http://10.77.0.1/)"
echo
status=0
"${as_user[@]}" env PATH=/usr/local/bin:/usr/bin:/bin PYTHONPATH="$SRC" \
    "$PY" -m wirecage up -v --wait "$TMP/demo.conf" -- "$PY" -c '
import urllib.request
print(urllib.request.urlopen("http://10.77.0.1/", timeout=10).read().decode())
' || status=$?
echo
if [ "$status" -eq 0 ]; then
    echo "demo: done; cleaning up"
else
    echo "demo: wirecage exited with status $status; cleaning up" >&2
fi
exit "$status"

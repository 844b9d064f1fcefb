#!/usr/bin/env bash
# Install what wirecage's tests and demo need on a fresh Debian machine, idempotently:
# the Debian packages (wireguard-go and wg as the reference peer, iperf3, shells and man tools)
# and a virtual environment with the Python dependencies.
#
# The venv lives in a world-readable place (default /opt/wirecage-venv) and is made from
# Debian's /usr/bin/python3, because the rootless tests run wirecage as an unprivileged user,
# who must be able to reach the interpreter (a pyenv under /root is not reachable).
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=${WIRECAGE_VENV:-/opt/wirecage-venv}
PACKAGES=(wireguard-go wireguard-tools iperf3 iproute2 iputils-ping tcpdump util-linux procps
          zsh fish bash-completion man-db mandoc groff-base python3-venv)

missing=()
for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
    if [ "$(id -u)" -ne 0 ]; then
        echo "setup: missing Debian packages: ${missing[*]} (run this script as root)" >&2
        exit 1
    fi
    echo "setup: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    # --no-install-recommends: wireguard-tools would otherwise pull in a whole kernel image.
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

PY=${WIRECAGE_PYTHON:-/usr/bin/python3}
if [ ! -x "$VENV/bin/python" ]; then
    echo "setup: creating $VENV from $PY"
    "$PY" -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install -q --upgrade pip >/dev/null
"$VENV/bin/python" -m pip install -q -e '.[dev]'
chmod -R a+rX "$VENV"
echo "setup: ready ($VENV)"

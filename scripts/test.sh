#!/usr/bin/env bash
# Run the whole test suite. Needs root for the namespace tests (as CI does); as another user
# those tests are skipped with their reason printed. Extra arguments go to pytest.
set -uo pipefail
cd "$(dirname "$0")/.."
VENV=${WIRECAGE_VENV:-/opt/wirecage-venv}
[ -x "$VENV/bin/python" ] || bash scripts/setup.sh || exit 1
"$VENV/bin/python" -m pytest "$@"
rc=$?
# pytest's 5 means "no tests ran": never a success.
[ "$rc" -eq 5 ] && { echo "test: no tests ran" >&2; exit 1; }
exit "$rc"

#!/usr/bin/env bash
# Installs oidc-provider-mock, the real OpenID Connect provider the single
# sign-on tests run against (see /work/shared/STACK.md), into a virtualenv.
# Idempotent: does nothing when the venv already has it. The tests start
# their own instance on a free loopback port; this script only makes sure
# the program exists.
#
#   tests/services/oidc.sh          install if missing, print the program's path
#   tests/services/oidc.sh start PORT [CLAIMS_JSON]
#                                   install if missing, then exec the provider
#                                   on 127.0.0.1:PORT (for manual use)
set -euo pipefail

VERSION="0.3.4"
VENV="${AQUEDUCT_OIDC_VENV:-$HOME/.cache/aqueduct/oidc-venv}"
BIN="$VENV/bin/oidc-provider-mock"

if [ ! -x "$BIN" ]; then
  echo "oidc-provider-mock not found; installing $VERSION into $VENV" >&2
  python3 -m venv "$VENV" >&2
  "$VENV/bin/pip" install --quiet "oidc-provider-mock==$VERSION" >&2
fi

case "${1:-}" in
  start)
    port="${2:?usage: oidc.sh start PORT [CLAIMS_JSON]}"
    if [ -n "${3:-}" ]; then
      exec "$BIN" -H 127.0.0.1 -p "$port" --user-claims "$3"
    fi
    exec "$BIN" -H 127.0.0.1 -p "$port"
    ;;
  "")
    echo "$BIN"
    ;;
  *)
    echo "unknown command: $1" >&2
    exit 2
    ;;
esac

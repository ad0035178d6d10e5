#!/usr/bin/env bash
# Installs aiosmtpd (PyPI) into a virtualenv, the SMTP server the
# notification tests and the mail benchmark send to (see
# /work/shared/STACK.md). Idempotent: does nothing when the venv already has
# it. The tests start their own server per test on a free loopback port
# (with tests/services/aqueduct_smtp.py as the handler); this script only
# makes sure the interpreter exists.
#
#   tests/services/smtp.sh              install if missing, print the python path
#   tests/services/smtp.sh start DIR PORT
#                                       install if missing, then run a server on
#                                       127.0.0.1:PORT keeping mail in DIR
set -euo pipefail

VENV="${AQ_SMTP_VENV:-$HOME/.cache/aqueduct/venv}"
PY="$VENV/bin/python"
HERE="$(cd "$(dirname "$0")" && pwd)"

if ! [ -x "$PY" ] || ! "$PY" -c "import aiosmtpd" >/dev/null 2>&1; then
  echo "aiosmtpd not found; installing it into $VENV" >&2
  python3 -m venv "$VENV" >&2
  "$VENV/bin/pip" install --quiet aiosmtpd >&2
fi

case "${1:-}" in
  start)
    dir="${2:?usage: smtp.sh start DIR PORT}"
    port="${3:?port}"
    PYTHONPATH="$HERE" exec "$PY" -m aiosmtpd -n -l "127.0.0.1:$port" -c aqueduct_smtp.Keeper "$dir"
    ;;
  "")
    echo "$PY"
    ;;
  *)
    echo "unknown command: $1" >&2
    exit 2
    ;;
esac

#!/usr/bin/env bash
# Installs s3s-fs, the S3-compatible server the backup tests run against
# (see /work/shared/STACK.md: the only local candidate that checks SigV4).
# Idempotent: does nothing when the right version is already on PATH or in
# ~/.cargo/bin. The tests start their own instance on a free loopback port;
# this script only makes sure the binary exists.
#
#   tests/services/s3.sh            install if missing, print the path
#   tests/services/s3.sh start DIR PORT ACCESS SECRET
#                                   install if missing, then exec the server
#                                   on 127.0.0.1:PORT (for `make run`/manual use)
set -euo pipefail

VERSION="0.14.1"
CARGO_BIN="${CARGO_HOME:-$HOME/.cargo}/bin"

find_bin() {
  if command -v s3s-fs >/dev/null 2>&1; then
    command -v s3s-fs
  elif [ -x "$CARGO_BIN/s3s-fs" ]; then
    echo "$CARGO_BIN/s3s-fs"
  else
    return 1
  fi
}

if ! BIN="$(find_bin)"; then
  echo "s3s-fs not found; installing s3s-fs $VERSION (takes a few minutes)" >&2
  cargo install s3s-fs --version "$VERSION" --locked --features binary >&2
  BIN="$(find_bin)"
fi

case "${1:-}" in
  start)
    dir="${2:?usage: s3.sh start DIR PORT ACCESS_KEY SECRET_KEY}"
    port="${3:?port}"
    access="${4:?access key}"
    secret="${5:?secret key}"
    mkdir -p "$dir"
    exec "$BIN" --host 127.0.0.1 --port "$port" --access-key "$access" --secret-key "$secret" "$dir"
    ;;
  "")
    echo "$BIN"
    ;;
  *)
    echo "unknown command: $1" >&2
    exit 2
    ;;
esac

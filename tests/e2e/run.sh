#!/usr/bin/env bash
# Browser journeys against the real `aqueduct` binary (SQLite, demo data)
# and the local Stripe stand-in. Screenshots land in target/e2e/.
# Skips (exit 0, with a message) when Chromium or Node is missing, unless
# E2E_REQUIRED=1 (CI sets it).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$ROOT"
CHROMIUM="${CHROMIUM:-/usr/bin/chromium}"
if [[ ! -x "$CHROMIUM" ]] || ! command -v node >/dev/null; then
  if [[ "${E2E_REQUIRED:-0}" == 1 ]]; then echo "e2e: chromium or node missing" >&2; exit 1; fi
  echo "e2e browser tests skipped: $CHROMIUM or node is not installed (apt-get install -y chromium nodejs npm)."
  exit 0
fi
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
cargo build -p aqueduct-server -p aqueduct-stripe-sim --bins
[[ -d tests/e2e/node_modules ]] || (cd tests/e2e && npm ci --no-audit --no-fund)

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
WORK="$(mktemp -d)"
APP_PORT="$(free_port)"; SIM_PORT="$(free_port)"
BASE="http://127.0.0.1:$APP_PORT"; SIM="http://127.0.0.1:$SIM_PORT"
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$WORK"; }
trap cleanup EXIT

export AQUEDUCT__DATABASE__URL="sqlite://$WORK/e2e.db?mode=rwc"
export AQUEDUCT__SERVER__PUBLIC_URL="$BASE"
export AQUEDUCT__AUTH__DEV_INSECURE_COOKIE=true
export AQUEDUCT__STRIPE__SECRET_KEY=sk_test_aqueduct_sim
export AQUEDUCT__STRIPE__WEBHOOK_SECRET=whsec_aqueduct_sim
export AQUEDUCT__STRIPE__API_BASE="$SIM"

# A local SMTP server keeps the mail (journey 3 opens the sign-up link).
SMTP_PORT="$(free_port)"
SMTP_PY="$(bash tests/services/smtp.sh)"
PYTHONPATH="$ROOT/tests/services" "$SMTP_PY" -m aiosmtpd -n -l "127.0.0.1:$SMTP_PORT" \
  -c aqueduct_smtp.Keeper "$WORK/mail" >"$WORK/smtp.log" 2>&1 &
PIDS+=($!)
export AQUEDUCT__SMTP__HOST=127.0.0.1
export AQUEDUCT__SMTP__PORT="$SMTP_PORT"
export AQUEDUCT__SMTP__TLS=none
export AQUEDUCT__SMTP__FROM_ADDRESS=billing@e2e.example.org

"$TARGET/debug/aqueduct-stripe-sim" --listen "127.0.0.1:$SIM_PORT" \
  --webhook-url "$BASE/webhooks/stripe" --ach-settle-delay-ms 8000 >"$WORK/sim.log" 2>&1 &
PIDS+=($!)
"$TARGET/debug/aqueduct" migrate >/dev/null
"$TARGET/debug/aqueduct" demo >"$WORK/demo.txt"
OPERATOR_EMAIL=ops@e2e.example.org
OPERATOR_PASSWORD="e2e-operator-$(date +%s)-pass"
echo "$OPERATOR_PASSWORD" | "$TARGET/debug/aqueduct" operator create --email "$OPERATOR_EMAIL" --password-stdin >/dev/null
API_KEY="$(grep -A1 'API key' "$WORK/demo.txt" | tail -1 | tr -d ' ')"
"$TARGET/debug/aqueduct" serve --with-worker --listen "127.0.0.1:$APP_PORT" >"$WORK/app.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 1 100); do
  curl -fsS "$BASE/healthz" >/dev/null 2>&1 && curl -fsS "$SIM/_sim/config" >/dev/null 2>&1 && break
  sleep 0.2
done
mkdir -p target/e2e
status=0
E2E_OPERATOR_EMAIL="$OPERATOR_EMAIL" E2E_OPERATOR_PASSWORD="$OPERATOR_PASSWORD" \
  E2E_BASE="$BASE" E2E_SIM="$SIM" E2E_API_KEY="$API_KEY" \
  E2E_STAFF_PASSWORD="$(grep -o 'password "[^"]*"' "$WORK/demo.txt" | head -1 | cut -d'"' -f2)" E2E_DB="$WORK/e2e.db" E2E_MAIL="$WORK/mail/messages.jsonl" \
  E2E_OUT="$ROOT/target/e2e" CHROMIUM="$CHROMIUM" node tests/e2e/journeys.mjs || status=$?
if [[ $status -ne 0 ]]; then
  echo "--- app log (tail)"; tail -40 "$WORK/app.log"; echo "--- sim log (tail)"; tail -20 "$WORK/sim.log"
fi
exit $status

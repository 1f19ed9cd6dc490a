#!/usr/bin/env bash
# Runs CMD... with moto's local AWS server (DynamoDB, Cloud Map, CloudWatch) on a free
# loopback port: the AWS SDKs (boto3, AWS SDK for JS v3) are pointed at it through the
# environment (AWS_ENDPOINT_URL and dummy credentials), and the server is stopped by its
# pid when CMD ends, whatever happens. No internet, no AWS account.
#
#   bash scripts/with-moto.sh node --test bindings-node/test/aws.test.mjs
#
# Sets for CMD: AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION,
# AWS_DEFAULT_REGION, AWS_EC2_METADATA_DISABLED, and TRIPWIRE_MOTO_URL (the same URL:
# the tests' sign that moto is there, and the base of its /moto-api/).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"

[ $# -gt 0 ] || { echo "usage: with-moto.sh CMD [ARGS...]" >&2; exit 2; }

VENV="${TRIPWIRE_PY_VENV:-$ROOT/target/venv-python}"
if ! [ -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c 'import moto.server, boto3' 2>/dev/null; then
  TRIPWIRE_PY_VENV="$VENV" bash "$ROOT/scripts/setup-python.sh" >&2
fi
PY="$VENV/bin/python"

LOG="$(mktemp "${TMPDIR:-/tmp}/tripwire-moto.XXXXXX.log")"
MOTO_PID=""
stop_moto() {
  if [ -n "$MOTO_PID" ] && kill -0 "$MOTO_PID" 2>/dev/null; then
    kill "$MOTO_PID" 2>/dev/null || true
    wait "$MOTO_PID" 2>/dev/null || true
  fi
  MOTO_PID=""
}
trap 'stop_moto; rm -f "$LOG"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

free_port() {
  "$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# A port may be taken between the probe and moto's bind: try a few.
for attempt in 1 2 3 4 5; do
  PORT="$(free_port)"
  "$PY" -m moto.server -H 127.0.0.1 -p "$PORT" >"$LOG" 2>&1 &
  MOTO_PID=$!
  ready=""
  for _ in $(seq 1 300); do
    if ! kill -0 "$MOTO_PID" 2>/dev/null; then break; fi
    if "$PY" -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=1).read()' \
      "http://127.0.0.1:$PORT/moto-api/data.json" 2>/dev/null; then
      ready=1
      break
    fi
    sleep 0.1
  done
  [ -n "$ready" ] && break
  stop_moto
  echo "with-moto: moto did not start on port $PORT (attempt $attempt):" >&2
  tail -n 5 "$LOG" >&2 || true
done
[ -n "$MOTO_PID" ] || { echo "with-moto: could not start moto" >&2; exit 1; }

URL="http://127.0.0.1:$PORT"
echo "with-moto: moto $("$PY" -c 'import moto; print(moto.__version__)') on $URL (pid $MOTO_PID)" >&2
export AWS_ENDPOINT_URL="$URL" TRIPWIRE_MOTO_URL="$URL"
export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_SESSION_TOKEN=testing
export AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true
unset AWS_PROFILE AWS_CONFIG_FILE AWS_SHARED_CREDENTIALS_FILE 2>/dev/null || true

set +e
"$@"
status=$?
set -e
exit "$status"

# Shared by the integration tests: a fresh data folder and a real est-server on an ephemeral
# loopback port, torn down on exit. Expects EST_SERVER and EST_CLIENT (set by CTest).
# shellcheck shell=bash
set -euo pipefail

: "${EST_SERVER:?EST_SERVER must point at the est-server binary}"
: "${EST_CLIENT:?EST_CLIENT must point at the est-client binary}"

WORK=$(mktemp -d)
DATA=$WORK/data
SERVER_PID=
PASSWORD=secret-password-1

cleanup() {
  if [[ -n $SERVER_PID ]]; then
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT

fail() {
  echo "FAIL: $*" >&2
  if [[ -f $WORK/server.log ]]; then
    echo "--- server log (last 20 lines)" >&2
    tail -n 20 "$WORK/server.log" >&2
  fi
  exit 1
}

# init_data: a data folder with user alice; sets FINGERPRINT.
init_data() {
  local output
  output=$("$EST_SERVER" init --data "$DATA") || fail "init failed"
  FINGERPRINT=$(sed -n 's/^root CA SHA-256 fingerprint: //p' <<<"$output")
  [[ ${#FINGERPRINT} -eq 64 ]] || fail "init printed no fingerprint: $output"
  printf '%s\n' "$PASSWORD" >"$WORK/password"
  "$EST_SERVER" user add alice --data "$DATA" --password-file "$WORK/password" >/dev/null
}

# start_server: serves $DATA on 127.0.0.1:<ephemeral>; sets PORT and URL.
start_server() {
  rm -f "$WORK/port"
  "$EST_SERVER" serve --data "$DATA" --listen 127.0.0.1:0 --port-file "$WORK/port" \
    2>>"$WORK/server.log" &
  SERVER_PID=$!
  local deadline=$((SECONDS + 20))
  until [[ -s $WORK/port ]]; do
    kill -0 "$SERVER_PID" 2>/dev/null || fail "est-server exited during start-up"
    ((SECONDS < deadline)) || fail "est-server did not listen within 20 s"
    sleep 0.05
  done
  PORT=$(cat "$WORK/port")
  URL=https://localhost:$PORT
}

# expect_status CODE DESCRIPTION -- curl arguments...: runs curl and checks the HTTP status.
expect_status() {
  local expected=$1 what=$2
  shift 3
  local status
  status=$(curl -sS -o "$WORK/body" -D "$WORK/headers" -w '%{http_code}' "$@" 2>"$WORK/curl.err") || true
  [[ $status == "$expected" ]] ||
    fail "$what: expected HTTP $expected, got $status: $(cat "$WORK/curl.err" "$WORK/body" 2>/dev/null)"
}

header_value() {
  grep -i "^$1:" "$WORK/headers" | head -n 1 | cut -d: -f2- | tr -d '\r' | sed 's/^ *//'
}

pass() {
  echo "ok: $*"
}

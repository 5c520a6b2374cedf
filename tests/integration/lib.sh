# Shared by the integration tests: a fresh data folder and a real est-server on an ephemeral
# loopback port, torn down on exit. Expects EST_SERVER and EST_CLIENT (set by CTest).
# shellcheck shell=bash disable=SC2034 # URL, PORT, FINGERPRINT are read by the tests
set -euo pipefail

: "${EST_SERVER:?EST_SERVER must point at the est-server binary}"
: "${EST_CLIENT:?EST_CLIENT must point at the est-client binary}"

# No single command may take longer than this: a hang fails its test quickly, with a message,
# instead of running into CTest's timeout.
COMMAND_TIMEOUT=30

WORK=$(mktemp -d)
DATA=$WORK/data
SERVER_PID=
PASSWORD=secret-pw

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
  if [[ -s $WORK/server.log ]]; then
    echo "--- server log (last 20 lines)" >&2
    tail -n 20 "$WORK/server.log" >&2
  fi
  exit 1
}

pass() {
  echo "ok: $*"
}

# est_client / est_server ARGS...: the binaries under the command time limit (124 on a hang).
est_client() { timeout "$COMMAND_TIMEOUT" "$EST_CLIENT" "$@"; }
est_server() { timeout "$COMMAND_TIMEOUT" "$EST_SERVER" "$@"; }

# init_data: a data folder with user alice (password $PASSWORD in $WORK/password); sets
# FINGERPRINT to the root fingerprint init printed.
init_data() {
  local output
  output=$(est_server init --data "$DATA") || fail "init failed"
  FINGERPRINT=$(sed -n 's/^root CA SHA-256 fingerprint: \([0-9a-f]\{64\}\)$/\1/p' <<<"$output")
  [[ ${#FINGERPRINT} -eq 64 ]] || fail "init printed no fingerprint: $output"
  printf '%s\n' "$PASSWORD" >"$WORK/password"
  est_server user add alice --data "$DATA" --password-file "$WORK/password" >/dev/null ||
    fail "user add alice failed"
}

# await_listening PID FILE...: waits until the est-server PID has written every port FILE; fails
# if it exits first or takes more than 20 s.
await_listening() {
  local pid=$1 file deadline=$((SECONDS + 20))
  shift
  for file in "$@"; do
    until [[ -s $file ]]; do
      kill -0 "$pid" 2>/dev/null || fail "est-server $pid exited during start-up"
      ((SECONDS < deadline)) || fail "est-server $pid did not listen within 20 s"
      sleep 0.05
    done
  done
}

# start_server: serves $DATA on 127.0.0.1:<ephemeral>; sets SERVER_PID, PORT and URL. The
# server's output goes to $WORK/server.log, shown when a test fails.
start_server() {
  rm -f "$WORK/port"
  "$EST_SERVER" serve --data "$DATA" --listen 127.0.0.1:0 --port-file "$WORK/port" \
    >>"$WORK/server.log" 2>&1 &
  SERVER_PID=$!
  await_listening "$SERVER_PID" "$WORK/port"
  PORT=$(cat "$WORK/port")
  [[ $PORT =~ ^[0-9]+$ ]] || fail "the port file holds '$PORT', not a port number"
  URL=https://localhost:$PORT
}

# free_port: a loopback port nothing listens on, for servers that cannot bind port 0 and say which
# they got (Mosquitto, openssl s_server).
free_port() {
  local port
  while true; do
    port=$((20000 + RANDOM % 40000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      echo "$port"
      return
    fi
  done
}

# start_s_server CERT CHAIN KEY: openssl s_server presenting CERT (then CHAIN) on a free loopback
# port, as a TLS server nobody here wrote; sets S_SERVER_PID and S_SERVER_PORT. stop_s_server
# ends it.
start_s_server() {
  S_SERVER_PORT=$(free_port)
  openssl s_server -accept "127.0.0.1:$S_SERVER_PORT" -cert "$1" -cert_chain "$2" -key "$3" \
    -www -quiet >"$WORK/s_server.log" 2>&1 &
  S_SERVER_PID=$!
  local deadline=$((SECONDS + 10))
  until (exec 3<>"/dev/tcp/127.0.0.1/$S_SERVER_PORT") 2>/dev/null; do
    ((SECONDS < deadline)) || fail "openssl s_server did not listen: $(cat "$WORK/s_server.log")"
    sleep 0.05
  done
}
stop_s_server() {
  kill "$S_SERVER_PID" 2>/dev/null || true
  wait "$S_SERVER_PID" 2>/dev/null || true
}

# expect_exit CODE DESCRIPTION -- command...: runs the command (stdout to $WORK/stdout, stderr to
# $WORK/err) and checks its exit status.
expect_exit() {
  local expected=$1 what=$2
  shift 3
  local status=0
  "$@" >"$WORK/stdout" 2>"$WORK/err" || status=$?
  [[ $status == "$expected" ]] || fail "$what: expected exit $expected, got $status: $(cat "$WORK/err")"
}

# expect_status CODES DESCRIPTION -- curl arguments...: runs curl (body to $WORK/body, headers to
# $WORK/headers) and checks the HTTP status; CODES is one code or alternatives like 400|403.
expect_status() {
  local expected=$1 what=$2
  shift 3
  local status
  status=$(curl -sS --max-time "$COMMAND_TIMEOUT" -o "$WORK/body" -D "$WORK/headers" \
    -w '%{http_code}' "$@" 2>"$WORK/curl.err") || true
  [[ $status =~ ^($expected)$ ]] ||
    fail "$what: expected HTTP $expected, got $status: $(cat "$WORK/curl.err" "$WORK/body" 2>/dev/null)"
}

# expect_refusal CODES DESCRIPTION -- curl arguments...: expect_status, and the answer is a
# text/plain sentence saying what was wrong.
expect_refusal() {
  expect_status "$@"
  [[ $(header_value Content-Type) =~ ^text/plain(;.*)?$ ]] ||
    fail "$2: the error response is '$(header_value Content-Type)', not text/plain"
  [[ -n $(tr -d '[:space:]' <"$WORK/body") ]] || fail "$2: the error response has an empty body"
}

# The value of a header of the last response (case-insensitive name, no CR).
header_value() {
  grep -i "^$1:" "$WORK/headers" | head -n 1 | cut -d: -f2- | tr -d '\r' | sed 's/^ *//'
}

# expect_base64_body DESCRIPTION: the last response body is base64 on one line, with no line
# break, whitespace or anything else (RFC 8951: the base64 of RFC 4648, which adds no line feeds;
# deployed EST clients decode without skipping them), with a Content-Length that matches it and
# no chunked transfer encoding. Decoded by Python's strict decoder, which refuses a line break.
expect_base64_body() {
  local what=$1 length
  [[ -s $WORK/body ]] || fail "$what: empty body"
  length=$(header_value Content-Length)
  [[ $length =~ ^[0-9]+$ ]] || fail "$what: no Content-Length header"
  [[ $length -eq $(stat -c %s "$WORK/body") ]] || fail "$what: Content-Length $length is not the body size"
  if header_value Transfer-Encoding | grep -qi chunked; then
    fail "$what: chunked Transfer-Encoding"
  fi
  if LC_ALL=C grep -q '[^A-Za-z0-9+/=]' "$WORK/body" || [[ $(wc -l <"$WORK/body") -ne 0 ]]; then
    fail "$what: the body is not base64 on one line: $(head -c 200 "$WORK/body" | od -c | head -3)"
  fi
  /usr/bin/python3 -c 'import base64, sys; base64.b64decode(sys.stdin.buffer.read(), validate=True)' \
    <"$WORK/body" || fail "$what: a strict base64 decoder refuses the body"
}

# decode_certs FILE: the last response body (base64 certs-only PKCS#7) as PEM certificates.
decode_certs() {
  base64 -d "$WORK/body" | openssl pkcs7 -inform DER -print_certs >"$1" 2>"$WORK/openssl.err" ||
    fail "the response is not base64 of a DER PKCS#7: $(cat "$WORK/openssl.err")"
}

cert_count() { grep -c -- '-----BEGIN CERTIFICATE-----' "$1" || true; }

# flip_byte_from_end FILE N: inverts the Nth byte from the end in place (for tampering with signatures).
flip_byte_from_end() {
  local file=$1 back=$2 offset byte
  offset=$(($(stat -c %s "$file") - back))
  byte=$(od -An -tu1 -j "$offset" -N 1 "$file" | tr -d ' ')
  # shellcheck disable=SC2059 # the format is the octal escape of the new byte
  printf "\\$(printf '%03o' $((byte ^ 0xff)))" | dd of="$file" bs=1 seek="$offset" conv=notrunc status=none
}

# Shared by the hostile_*_test.sh scripts (after lib.sh): short transport deadlines and limits
# written into the data folder's config, a registry snapshot that a refusal must leave unchanged,
# and the check that the server still enrolls correctly after each hostile shape.
# shellcheck shell=bash disable=SC2034 # HOSTILE, ROOT, EST are read by the tests

HOSTILE=(python3 "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/hostile.py")

# set_config KEY VALUE: replaces the line `KEY = ...` of est-server.toml (it must exist once).
set_config() {
  local key=$1 value=$2 config=$DATA/est-server.toml
  [[ $(grep -c "^$key = " "$config") -eq 1 ]] || fail "est-server.toml has no single '$key' line"
  sed -i "s|^$key = [^#]*|$key = $value   |" "$config"
}

# hostile_setup: init, short deadlines, start; sets ROOT, EST and the hostile.py arguments.
hostile_setup() {
  init_data
  set_config handshake_timeout '"2s"'
  set_config header_timeout '"2s"'
  set_config body_timeout '"3s"'
  set_config max_connections 20
  start_server
  ROOT=$DATA/ca/root.pem
  EST=https://127.0.0.1:$PORT/.well-known/est
  HOSTILE+=(--port "$PORT" --ca "$ROOT" --body-out "$WORK/body" --headers-out "$WORK/headers")
  cd "$WORK" || fail "cannot enter $WORK"
  snapshot_registry >before.txt
}

# Everything a refusal could change: things, certificates, pending requests, and the audit rows
# that record an issuance (a refusal may add a 'refused' row; it must add no 'ok' row).
snapshot_registry() {
  est_server things list --data "$DATA" --json
  est_server certs list --data "$DATA" --json
  est_server requests list --data "$DATA" --json
  echo "issuance audit rows: $(est_server audit export --data "$DATA" --json | grep -c '"result": *"ok"' || true)"
}

# refused_cleanly WHAT: the server is alive, the registry unchanged since the last baseline; then
# a fresh device enrolls with est-client and gets a certificate that verifies (new baseline).
ENROLLED=0
refused_cleanly() {
  local what=$1
  kill -0 "$SERVER_PID" 2>/dev/null || fail "$what: the server is gone"
  snapshot_registry >after.txt
  cmp -s before.txt after.txt || fail "$what changed the registry: $(diff before.txt after.txt | head -20)"
  ENROLLED=$((ENROLLED + 1))
  local name=after-$ENROLLED
  est_client enroll --server "$URL" --ca-file "$ROOT" --cn "$name" --user alice \
    --password-file "$WORK/password" --key-out "$name.key" --cert-out "$name.pem" \
    >/dev/null 2>"$WORK/err" || fail "$what: the next enrollment failed: $(cat "$WORK/err")"
  openssl verify -CAfile "$ROOT" -untrusted "$DATA/ca/chain.pem" "$name.pem" >/dev/null ||
    fail "$what: the next enrollment's certificate does not verify"
  snapshot_registry >before.txt
  pass "$what"
}

# expect_answer CODE SENTENCE: the last hostile.py answer had this status and a text/plain body
# holding this sentence fragment.
expect_answer() {
  local status=$1 fragment=$2
  [[ $(cat "$WORK/status") == "$status" ]] ||
    fail "expected $status ($fragment), got $(cat "$WORK/status"): $(cat "$WORK/body" 2>/dev/null)"
  grep -q '^content-type: text/plain' "$WORK/headers" || fail "$fragment: the answer is not text/plain"
  grep -qF -- "$fragment" "$WORK/body" || fail "expected '$fragment' in: $(cat "$WORK/body")"
}

# raw_request FILE: sends FILE's bytes over TLS; the status goes to $WORK/status.
raw_request() {
  "${HOSTILE[@]}" raw "$1" >"$WORK/status" || fail "hostile.py raw $1"
}

# post_body FILE [PATH]: POSTs a base64 CSR as alice with curl; status to $WORK/status.
post_body() {
  curl -sS --max-time "$COMMAND_TIMEOUT" --cacert "$ROOT" -u "alice:$PASSWORD" \
    -H 'Content-Type: application/pkcs10' --data-binary "@$1" -o "$WORK/body" \
    -D "$WORK/headers.raw" -w '%{http_code}' "$EST/${2:-simpleenroll}" >"$WORK/status" 2>"$WORK/curl.err" || true
  tr -d '\r' <"$WORK/headers.raw" | tr '[:upper:]' '[:lower:]' >"$WORK/headers"
}

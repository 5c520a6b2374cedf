#!/usr/bin/env bash
# est-server's own life: init refusals, start-up failures, graceful stop.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"
cd "$WORK"

est_server serve --data "$WORK/missing" 2>err && fail "serve without a data folder started"
grep -q 'est-server init' err || fail "missing data message: $(cat err)"
pass "serve on a missing data folder says to run init"

init_data
before=$(sha256sum "$DATA/ca/root.pem")
est_server init --data "$DATA" 2>err && fail "init overwrote a CA without --force"
grep -q -- '--force' err || fail "overwrite message: $(cat err)"
[[ $(sha256sum "$DATA/ca/root.pem") == "$before" ]] || fail "root changed without --force"
for key in ca/root.key ca/issuing.key tls/server.key; do
  [[ $(stat -c %a "$DATA/$key") == 600 ]] || fail "$key mode is $(stat -c %a "$DATA/$key")"
done
pass "init refuses to replace a CA; keys are 0600"

est_server init --data "$DATA" --force >out || fail "init --force"
[[ $(sha256sum "$DATA/ca/root.pem") != "$before" ]] || fail "--force kept the old root"
grep -q 'previous CA moved to' out || fail "--force does not say where the old CA went"
pass "init --force replaces the CA and keeps the old one aside"

start_server
est_server serve --data "$DATA" --listen "127.0.0.1:$PORT" 2>err && fail "two servers on one port"
grep -q 'cannot listen' err || fail "port in use message: $(cat err)"
pass "a port in use is refused with a clear message"

printf 'not toml [\n' >>"$DATA/est-server.toml"
est_server serve --data "$DATA" --listen 127.0.0.1:0 2>err && fail "a broken config was served"
grep -q 'est-server.toml' err || fail "broken config message: $(cat err)"
pass "a broken config is refused naming the file"

expect_status 200 "cacerts before the stop" -- --cacert "$DATA/ca/root.pem" "$URL/.well-known/est/cacerts"
kill -TERM "$SERVER_PID"
deadline=$((SECONDS + 5))
while kill -0 "$SERVER_PID" 2>/dev/null; do
  ((SECONDS < deadline)) || fail "est-server did not stop within 5 s of SIGTERM"
  sleep 0.05
done
wait "$SERVER_PID" || fail "est-server exited non-zero on SIGTERM"
SERVER_PID=
pass "SIGTERM stops the server cleanly"

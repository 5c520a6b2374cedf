#!/usr/bin/env bash
# The operations endpoints against the real server: the plain-HTTP metrics listener on its own
# ephemeral port (off the public EST port, where /metrics is 404), every documented series present
# with the counts one successful and one refused enrollment leave, /healthz and /readyz, JSON logs
# one object per line with no secret in them, and `audit export` (JSON lines, table, --since, usage
# errors).
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"
cd "$WORK"

init_data
CA=$DATA/ca/root.pem

# --metrics-port-file without a metrics listener is refused before anything listens.
expect_exit 1 "serve --metrics-port-file without a listener" -- \
  est_server serve --data "$DATA" --listen 127.0.0.1:0 --metrics-port-file "$WORK/mport"
grep -q "needs the metrics listener" "$WORK/err" || fail "unclear refusal: $(cat "$WORK/err")"
expect_exit 2 "serve --log-format xml" -- est_server serve --data "$DATA" --log-format xml
grep -q "log-format" "$WORK/err" || fail "unclear --log-format refusal: $(cat "$WORK/err")"
pass "serve refuses a metrics port file without a listener and an unknown log format"

# The listener from the config file; --metrics-listen overrides its port with an ephemeral one.
sed -i 's|^# listen = "127.0.0.1:9443"|listen = "127.0.0.1:1"|' "$DATA/est-server.toml"
grep -q '^listen = "127.0.0.1:1"' "$DATA/est-server.toml" || fail "could not configure metrics.listen"
"$EST_SERVER" serve --data "$DATA" --listen 127.0.0.1:0 --port-file "$WORK/port" \
  --metrics-listen 127.0.0.1:0 --metrics-port-file "$WORK/mport" --log-format json \
  >>"$WORK/server.log" 2>&1 &
SERVER_PID=$!
await_listening "$SERVER_PID" "$WORK/port" "$WORK/mport"
PORT=$(cat "$WORK/port")
MPORT=$(cat "$WORK/mport")
URL=https://localhost:$PORT
MURL=http://127.0.0.1:$MPORT
[[ $MPORT =~ ^[0-9]+$ && $MPORT != "$PORT" ]] || fail "metrics port '$MPORT'"

# One enrollment issued, one refused for a wrong password, one TLS handshake that fails.
est_client enroll --server "$URL" --ca-file "$CA" --cn Device-OK --user alice \
  --password-file "$WORK/password" --key-out ok.key --cert-out ok.pem >/dev/null 2>"$WORK/err" ||
  fail "enroll Device-OK: $(cat "$WORK/err")"
printf 'wrong-pw\n' >wrong
expect_exit 1 "enroll with a wrong password" -- est_client enroll --server "$URL" --ca-file "$CA" \
  --cn Device-BAD --user alice --password-file wrong --key-out bad.key --cert-out bad.pem
curl -s --max-time 5 "http://127.0.0.1:$PORT/" >/dev/null 2>&1 || true # plain HTTP on the TLS port
pass "one enrollment issued, one refused, one failed handshake"

# /metrics on the public port is not there.
expect_status 404 "GET /metrics on the EST port" -- --cacert "$CA" "$URL/metrics"
expect_status 200 "GET /healthz on the EST port" -- --cacert "$CA" "$URL/healthz"
[[ $(cat "$WORK/body") == ok ]] || fail "/healthz on the EST port says '$(cat "$WORK/body")'"
pass "the EST port answers 404 for /metrics and 200 for /healthz"

expect_status 200 "GET /metrics" -- "$MURL/metrics"
[[ $(header_value Content-Type) == "text/plain; version=0.0.4; charset=utf-8" ]] ||
  fail "/metrics Content-Type is '$(header_value Content-Type)'"
cp "$WORK/body" metrics.txt
has() { grep -qxF -- "$1" metrics.txt || fail "/metrics lacks the line '$1'"; }
has_type() { grep -qxF -- "# TYPE $1 $2" metrics.txt || fail "/metrics lacks '# TYPE $1 $2'"; }
has_type est_enrollments_total counter
has 'est_enrollments_total{profile="default",operation="simpleenroll",result="issued"} 1'
has 'est_enrollments_total{profile="default",operation="simpleenroll",result="401"} 1'
has_type est_auth_failures_total counter
has 'est_auth_failures_total{profile="default",method="basic"} 1'
has_type est_request_duration_seconds histogram
has 'est_request_duration_seconds_count{operation="simpleenroll"} 2'
has 'est_request_duration_seconds_bucket{operation="simpleenroll",le="+Inf"} 2'
grep -q '^est_request_duration_seconds_sum{operation="simpleenroll"} [0-9.e+-]*$' metrics.txt ||
  fail "/metrics lacks est_request_duration_seconds_sum"
has_type est_tls_handshake_failures_total counter
grep -q '^est_tls_handshake_failures_total [1-9][0-9]*$' metrics.txt ||
  fail "the failed handshake is not counted: $(grep handshake metrics.txt)"
has_type est_registry_things gauge
has 'est_registry_things 1'
has_type est_registry_certificates gauge
has 'est_registry_certificates{status="active"} 1'
has 'est_registry_certificates{status="revoked"} 0'
has 'est_registry_certificates{status="superseded"} 0'
has_type est_certificates_expiring gauge
has 'est_certificates_expiring{within="7d"} 0'
has 'est_certificates_expiring{within="30d"} 0'
has_type est_broker_sync_backlog gauge
has 'est_broker_sync_backlog 0'
has_type process_start_time_seconds gauge
start=$(sed -n 's/^process_start_time_seconds \([0-9.e+]*\)$/\1/p' metrics.txt)
awk -v s="$start" -v now="$(date +%s)" 'BEGIN { exit !(s > now - 600 && s <= now + 1) }' ||
  fail "process_start_time_seconds is '$start'"
# Every sample line is NAME{labels} VALUE or NAME VALUE; every family has HELP and TYPE.
grep -v '^#' metrics.txt | grep -Evq '^[a-zA-Z_:][a-zA-Z0-9_:]*(\{[^}]*\})? [-+0-9.eInfNa]+$' &&
  fail "malformed sample lines: $(grep -v '^#' metrics.txt | grep -Ev '^[a-zA-Z_:][a-zA-Z0-9_:]*(\{[^}]*\})? [-+0-9.eInfNa]+$')"
[[ $(grep -c '^# HELP' metrics.txt) == $(grep -c '^# TYPE' metrics.txt) ]] ||
  fail "HELP and TYPE lines do not pair up"
pass "every series is on /metrics with the right counts"

expect_status 200 "GET /healthz" -- "$MURL/healthz"
[[ $(cat "$WORK/body") == ok ]] || fail "/healthz says '$(cat "$WORK/body")'"
expect_status 200 "GET /readyz" -- "$MURL/readyz"
grep -q '^ready' "$WORK/body" || fail "/readyz says '$(cat "$WORK/body")'"
expect_status 404 "GET /nothing on the metrics port" -- "$MURL/nothing"
expect_status 405 "POST /metrics" -- -X POST "$MURL/metrics"
[[ $(header_value Allow) == GET ]] || fail "405 without Allow: GET"
pass "/healthz and /readyz answer; other paths and methods are refused"

# The registry goes away under the running server: /readyz says so in one line, /healthz stays up.
mv "$DATA/registry.db" "$DATA/registry.db.away"
expect_status 503 "GET /readyz without a registry" -- "$MURL/readyz"
[[ $(wc -l <"$WORK/body") == 1 ]] && grep -q '^registry: ' "$WORK/body" ||
  fail "/readyz without a registry says '$(cat "$WORK/body")'"
expect_status 200 "GET /healthz without a registry" -- "$MURL/healthz"
mv "$DATA/registry.db.away" "$DATA/registry.db"
expect_status 200 "GET /readyz with the registry back" -- "$MURL/readyz"
pass "/readyz is 503 with a one-line reason while the registry is unreachable"

# JSON logs: every line one object with ts, level, msg; the access line carries fields; no secret.
kill -TERM "$SERVER_PID"
wait "$SERVER_PID" || fail "est-server exited with an error"
SERVER_PID=
python3 - "$WORK/server.log" "$PASSWORD" <<'PY' || fail "the JSON log is not as documented"
import json, sys
lines = open(sys.argv[1], encoding="utf-8").read().splitlines()
events = [json.loads(line) for line in lines]  # raises on a line that is not JSON
assert events, "no log lines"
for e in events:
    assert {"ts", "level", "msg"} <= e.keys(), e
enroll = [e for e in events if e.get("path") == "/.well-known/est/simpleenroll"]
assert [e["status"] for e in enroll] == [200, 401], enroll
assert enroll[0]["thing"] == "Device-OK" and enroll[0]["by"] == "alice", enroll[0]
assert enroll[1]["level"] == "warning" and "reason" in enroll[1], enroll[1]
text = open(sys.argv[1], encoding="utf-8").read()
assert sys.argv[2] not in text and "wrong-pw" not in text, "a password was logged"
PY
pass "--log-format json writes one object per line with the request's fields and no password"

# audit export: JSON lines and a table, --since, usage errors.
est_server audit export --data "$DATA" --json >audit.jsonl 2>"$WORK/err" ||
  fail "audit export --json: $(cat "$WORK/err")"
python3 - audit.jsonl <<'PY' || fail "audit export --json is not as documented: $(cat audit.jsonl)"
import json, sys
events = [json.loads(line) for line in open(sys.argv[1], encoding="utf-8")]
ok = [e for e in events if e["operation"] == "simpleenroll" and e["result"] == "ok"]
assert len(ok) == 1 and ok[0]["thing"] == "Device-OK" and ok[0]["serial"], ok
assert ok[0]["actor"] == "alice" and ok[0]["profile"] == "default", ok[0]
assert ok[0]["time"].endswith("Z") and isinstance(ok[0]["unix_time"], int), ok[0]
refused = [e for e in events if e["operation"] == "simpleenroll" and e["result"] == "refused"]
assert len(refused) == 1 and "HTTP Basic" in refused[0]["reason"], refused
assert [e["id"] for e in events] == sorted(e["id"] for e in events), "not oldest first"
PY
serial=$(openssl x509 -in ok.pem -noout -serial | cut -d= -f2)
grep -q "\"serial\":\"$serial\"" audit.jsonl || fail "audit export lacks serial $serial"
est_server audit export --data "$DATA" --since 1h >audit.txt 2>"$WORK/err" ||
  fail "audit export: $(cat "$WORK/err")"
head -n 1 audit.txt | grep -q '^TIME  *OPERATION  *RESULT  *PROFILE  *THING  *SERIAL' ||
  fail "audit export table header: $(head -n 1 audit.txt)"
grep -q "simpleenroll  *ok  *default  *Device-OK  *$serial" audit.txt ||
  fail "the table lacks the enrollment: $(cat audit.txt)"
future=$(date -u -d '+1 day' +%Y-%m-%dT%H:%M:%SZ)
est_server audit export --data "$DATA" --since "$future" --json >later.jsonl ||
  fail "audit export --since a future time failed"
[[ ! -s later.jsonl ]] || fail "events after $future: $(cat later.jsonl)"
[[ $(est_server audit export --data "$DATA" --since 0 --json | wc -l) == $(wc -l <audit.jsonl) ]] ||
  fail "--since 0 does not give every event"
expect_exit 2 "audit export --since yesterday" -- est_server audit export --data "$DATA" --since yesterday
grep -q "'yesterday' is not a time" "$WORK/err" || fail "unclear --since refusal: $(cat "$WORK/err")"
expect_exit 2 "audit export without --data" -- est_server audit export --json
expect_exit 1 "audit export of a missing folder" -- est_server audit export --data "$WORK/none"
grep -q "does not exist" "$WORK/err" || fail "unclear missing-folder refusal: $(cat "$WORK/err")"
pass "audit export: JSON lines, a table, --since, usage errors exit 2"

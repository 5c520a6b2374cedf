#!/usr/bin/env bash
# Crash safety: parallel est-client enrollments, the server killed with SIGKILL in the middle of
# them, then restarted. Every certificate a client received is in the registry, no serial
# repeats, SQLite's integrity check is ok, and the audit log has an issuance row for every
# certificate in the registry (an answer lost in the crash may leave a certificate no client
# saved; never the other way round).
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"
init_data
start_server
cd "$WORK"
ROOT=$DATA/ca/root.pem
WORKERS=${DURABILITY_WORKERS:-6}
mkdir -p out

# One worker: enrolls w<ID>-1, w<ID>-2, ... until an enrollment fails (the server died).
worker() {
  local id=$1 i=0
  while ((i < 500)); do
    i=$((i + 1))
    "$EST_CLIENT" enroll --server "$URL" --ca-file "$ROOT" --cn "w$id-$i" --user alice \
      --password-file "$WORK/password" --key-out "out/w$id-$i.key" --cert-out "out/w$id-$i.pem" \
      >/dev/null 2>>"out/worker-$id.err" || return 0
  done
}
pids=()
for id in $(seq "$WORKERS"); do
  worker "$id" &
  pids+=($!)
done
# Let the load build up, then kill the server without warning while requests are in flight.
deadline=$((SECONDS + 30))
until [[ $(find out -name '*.pem' | wc -l) -ge 40 ]]; do
  ((SECONDS < deadline)) || fail "the load did not get going: $(cat out/worker-*.err | tail -n 3)"
  sleep 0.1
done
sleep 0.$((RANDOM % 10))
kill -KILL "$SERVER_PID"
wait "$SERVER_PID" 2>/dev/null || true
SERVER_PID=
for pid in "${pids[@]}"; do
  timeout 60 tail --pid="$pid" -f /dev/null || fail "a client did not stop after the crash"
done
received=$(find out -name '*.pem' | wc -l)
pass "SIGKILL after $received certificates reached $WORKERS parallel clients"

[[ $(sqlite3 "$DATA/registry.db" 'PRAGMA integrity_check') == ok ]] || fail "integrity_check after the crash"
start_server
[[ $(sqlite3 "$DATA/registry.db" 'PRAGMA integrity_check') == ok ]] || fail "integrity_check after the restart"
pass "PRAGMA integrity_check = ok after the crash and after the restart"

for cert in out/*.pem; do
  openssl x509 -in "$cert" -noout -serial | sed 's/^serial=//' | tr '[:lower:]' '[:upper:]'
done | sort >client-serials.txt
est_server certs list --data "$DATA" --json >certs.json || fail "certs list"
python3 - certs.json >registry-serials.txt <<'PY' || fail "certs list --json is not a list of certificates"
import json, sys
for cert in json.load(open(sys.argv[1])):
    print(cert["serial"].upper())
PY
sort -o registry-serials.txt registry-serials.txt
[[ -z $(uniq -d client-serials.txt) ]] || fail "serials repeat among the clients: $(uniq -d client-serials.txt)"
[[ -z $(uniq -d registry-serials.txt) ]] || fail "serials repeat in the registry: $(uniq -d registry-serials.txt)"
missing=$(comm -23 client-serials.txt registry-serials.txt)
[[ -z $missing ]] || fail "certificates clients received are not in the registry: $missing"
lost=$(comm -13 client-serials.txt registry-serials.txt | wc -l)
pass "all $received received serials are in the registry ($(wc -l <registry-serials.txt) there, $lost answers lost in the crash), none repeats"

est_server audit export --data "$DATA" --json >audit.jsonl || fail "audit export"
python3 - audit.jsonl registry-serials.txt <<'PY' || fail "the audit log misses issuances"
import json, sys
issued = set()
for line in open(sys.argv[1]):
    row = json.loads(line)
    if row["result"] == "ok" and row["operation"] == "simpleenroll":
        issued.add(row["serial"].upper())
missing = [s.strip() for s in open(sys.argv[2]) if s.strip() not in issued]
if missing:
    sys.exit(f"no issuance audit row for {len(missing)} certificates, e.g. {missing[:3]}")
PY
pass "every certificate in the registry has its issuance audit row"

est_client enroll --server "$URL" --ca-file "$ROOT" --cn after-restart --user alice \
  --password-file "$WORK/password" --key-out after.key --cert-out after.pem >/dev/null 2>"$WORK/err" ||
  fail "enrollment after the restart: $(cat "$WORK/err")"
openssl verify -CAfile "$ROOT" -untrusted "$DATA/ca/chain.pem" after.pem >/dev/null || fail "after.pem"
pass "the restarted server enrolls"

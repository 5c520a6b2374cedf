#!/usr/bin/env bash
# est-bench against a real server: a keep-alive enroll run with idle connections counts every
# request and idle connection and reports the server's memory; an --idle that the descriptor
# limit cannot hold is refused before anything is opened. Expects EST_BENCH besides lib.sh's.
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/../tests/integration/lib.sh"
: "${EST_BENCH:?EST_BENCH must point at the est-bench binary}"

init_data
start_server

timeout 120 "$EST_BENCH" --server "https://127.0.0.1:$PORT" --ca-file "$DATA/ca/root.pem" \
  --user alice --password-file "$WORK/password" --server-pid "$SERVER_PID" --mode enroll \
  --keepalive --connections 2 --requests 20 --idle 5 --json >"$WORK/report.json" \
  2>"$WORK/err" || fail "est-bench --idle 5 failed: $(cat "$WORK/err")"
python3 - "$WORK/report.json" <<'PY' || fail "the --idle report is wrong: $(cat "$WORK/report.json")"
import json, sys
r = json.load(open(sys.argv[1]))
assert r["requests"] == 20 and r["succeeded"] == 20 and r["errors"] == {}, "requests"
assert r["idle"] == {"requested": 5, "opened": 5, "open_at_end": 5, "errors": {}}, r["idle"]
memory = r["server_memory"]
for moment in ("start", "timed_start", "timed_end"):
    assert memory[moment]["vm_rss_kib"] > 0, moment
    assert memory[moment]["vm_hwm_kib"] >= memory[moment]["vm_rss_kib"], moment
PY
pass "est-bench --idle counts requests and idle connections and reads the server's memory"

status=0
(ulimit -n 200 && "$EST_BENCH" --server "https://127.0.0.1:$PORT" --ca-file "$DATA/ca/root.pem" \
  --user alice --password-file "$WORK/password" --mode enroll --connections 1 --requests 1 \
  --idle 1000) >"$WORK/stdout" 2>"$WORK/err" || status=$?
[[ $status == 2 ]] || fail "--idle beyond the descriptor limit: expected exit 2, got $status"
grep -q "ulimit -n" "$WORK/err" || fail "the refusal does not say what to raise: $(cat "$WORK/err")"
pass "--idle beyond the descriptor limit is refused with exit 2"

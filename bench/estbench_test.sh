#!/usr/bin/env bash
# est-bench against a real server: a keep-alive enroll run with idle connections counts every
# request and idle connection and reports the server's memory; an --idle that the descriptor
# limit cannot hold is refused before anything is opened; the device-like client (--device)
# enrolls (with TCP_NODELAY and with Nagle), renews and gets cacerts with the same report.
# Expects EST_BENCH besides lib.sh's.
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

# --device in each mode: every request answered, one thread per connection, the same report.
for run in enroll reenroll cacerts enroll:--nagle; do
  IFS=: read -r mode nagle <<<"$run"
  timeout 120 "$EST_BENCH" --server "https://127.0.0.1:$PORT" --ca-file "$DATA/ca/root.pem" \
    --user alice --password-file "$WORK/password" --server-pid "$SERVER_PID" --mode "$mode" \
    --device ${nagle:+"$nagle"} --connections 2 --requests 6 --json >"$WORK/device.json" \
    2>"$WORK/err" || fail "est-bench --device --mode $mode $nagle failed: $(cat "$WORK/err")"
  python3 - "$WORK/device.json" "$mode" "$nagle" <<'PY' || fail "the --device $mode $nagle report is wrong: $(cat "$WORK/device.json")"
import json, sys
r = json.load(open(sys.argv[1]))
assert r["mode"] == sys.argv[2], r["mode"]
assert r["tcp_nodelay"] == (sys.argv[3] != "--nagle"), r["tcp_nodelay"]
assert (r["client"], r["connection"], r["connections"], r["threads"]) == ("device", "new", 2, 2), r
assert r["requests"] == 6 and r["succeeded"] == 6 and r["errors"] == {}, "requests"
assert r["enrollments_per_s"] > 0, "rate"
latency = r["latency_ms"]
assert 0 < latency["p50"] <= latency["p90"] <= latency["p99"] <= latency["max"], latency
assert r["server_cpu_us_per_op"] >= 0 and r["floor_us_per_op"] > 0, "cpu"
assert r["ratio_to_floor"] is not None, "ratio"
PY
done
pass "est-bench --device enrolls (also with --nagle), renews and gets cacerts, reported as the other clients are"

status=0
"$EST_BENCH" --server "https://127.0.0.1:$PORT" --ca-file "$DATA/ca/root.pem" --mode cacerts \
  --device --keepalive --connections 1 --requests 1 >"$WORK/stdout" 2>"$WORK/err" || status=$?
[[ $status != 0 ]] || fail "--device --keepalive was accepted"
grep -q -- "--keepalive" "$WORK/err" || fail "the refusal does not name --keepalive: $(cat "$WORK/err")"
pass "--device with --keepalive is refused"

status=0
"$EST_BENCH" --server "https://127.0.0.1:$PORT" --ca-file "$DATA/ca/root.pem" --mode cacerts \
  --nagle --connections 1 --requests 1 >"$WORK/stdout" 2>"$WORK/err" || status=$?
[[ $status != 0 ]] || fail "--nagle without --device was accepted"
grep -q -- "--device" "$WORK/err" || fail "the refusal does not name --device: $(cat "$WORK/err")"
pass "--nagle without --device is refused"

#!/usr/bin/env bash
# One measurement window of docs/performance.md (round 6): what a keep-alive and a new-connection
# enrollment cost the server, next to the parts they are made of, all measured in this run:
#   est_benchmarks: the enrollment pipeline without I/O, the registry write with shared commits;
#   est-bench against a fresh est-server: enroll and cacerts, keep-alive and new connection;
#   bench/reference/openssl_handshake.sh: OpenSSL's own s_server, CPU per handshake.
# Usage: bench/decomposition.sh BUILD_DIR [--quick]
#   BUILD_DIR holds src/apps/est-server, src/apps/est-bench and bench/est_benchmarks (a Release
#   build for figures); --quick runs each part briefly, to check that the window still works.
# Prints a table on stderr and one JSON object on stdout.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
usage="usage: bench/decomposition.sh BUILD_DIR [--quick]"
build=${1:?$usage}
quick=false
if [[ $# -ge 2 ]]; then
  [[ $2 == --quick ]] || { echo "$usage" >&2; exit 2; }
  quick=true
fi
server=$build/src/apps/est-server
bench=$build/src/apps/est-bench
suite=$build/bench/est_benchmarks
for binary in "$server" "$bench" "$suite"; do
  [[ -x $binary ]] || { echo "$binary is missing: build est-server, est-bench and est_benchmarks in $build first" >&2; exit 2; }
done

if $quick; then
  requests=(enroll:keepalive:60 enroll:new:20 cacerts:keepalive:200 cacerts:new:20)
  min_time=0.01 reference_seconds=1
else
  requests=(enroll:keepalive:12000 enroll:new:4000 cacerts:keepalive:40000 cacerts:new:4000)
  min_time=0.5 reference_seconds=5
fi

work=$(mktemp -d)
server_pid=
cleanup() {
  if [[ -n $server_pid ]]; then
    kill -TERM "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

echo "decomposition: est_benchmarks" >&2
"$suite" --benchmark_filter='^(BM_EnrollmentPipeline|BM_RecordEnrollmentShared)' \
  --benchmark_min_time="$min_time" --benchmark_format=json >"$work/suite.json" 2>"$work/suite.err" ||
  { echo "est_benchmarks failed: $(cat "$work/suite.err")" >&2; exit 1; }

echo "decomposition: OpenSSL's s_server" >&2
bash "$here/reference/openssl_handshake.sh" "$reference_seconds" >"$work/reference.json"

"$server" init --data "$work/data" >/dev/null
printf '%s\n' "decomposition-$RANDOM$RANDOM" >"$work/password"
"$server" user add bench --data "$work/data" --password-file "$work/password" >/dev/null
"$server" serve --data "$work/data" --listen 127.0.0.1:0 --port-file "$work/port" \
  >"$work/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 200); do
  [[ -s $work/port ]] && break
  kill -0 "$server_pid" 2>/dev/null || { echo "est-server did not start: $(tail -5 "$work/server.log")" >&2; exit 1; }
  sleep 0.05
done
[[ -s $work/port ]] || { echo "est-server did not listen within 10 s" >&2; exit 1; }
port=$(cat "$work/port")

for run in "${requests[@]}"; do
  IFS=: read -r mode connection count <<<"$run"
  echo "decomposition: est-bench $mode $connection, $count requests" >&2
  flag=--keepalive
  [[ $connection == new ]] && flag=--new-connection
  "$bench" --server "https://127.0.0.1:$port" --ca-file "$work/data/ca/root.pem" --user bench \
    --password-file "$work/password" --server-pid "$server_pid" --connections 64 --mode "$mode" \
    "$flag" --requests "$count" --json >"$work/$mode-$connection.json" 2>"$work/bench.err" ||
    { echo "est-bench $mode $connection failed: $(cat "$work/bench.err")" >&2; exit 1; }
done

python3 - "$work" <<'PY'
import json, sys

work = sys.argv[1]
load = lambda name: json.load(open(f"{work}/{name}"))
suite = {b["name"]: b for b in load("suite.json")["benchmarks"]}
reference = load("reference.json")
runs = {name: load(f"{name}.json") for name in
        ("enroll-keepalive", "enroll-new", "cacerts-keepalive", "cacerts-new")}

def cpu_us(prefix):
    bench = next(b for name, b in suite.items() if name.startswith(prefix))
    scale = {"ns": 1e-3, "us": 1.0, "ms": 1e3}[bench["time_unit"]]
    return bench["cpu_time"] * scale

failed = {name: run["errors"] for name, run in runs.items() if run["errors"] or run["succeeded"] != run["requests"]}
if failed:
    sys.exit(f"est-bench counted errors: {failed}")

pipeline = cpu_us("BM_EnrollmentPipeline")
registry = cpu_us("BM_RecordEnrollmentShared")
request = runs["cacerts-keepalive"]["server_cpu_us_per_op"]
keepalive = runs["enroll-keepalive"]["server_cpu_us_per_op"]
new_connection = runs["enroll-new"]["server_cpu_us_per_op"]
handshake = reference["s_server_cpu_us_per_handshake"]
parts_keepalive = pipeline + registry + request
parts_new = handshake + keepalive
result = {
    "keepalive": {
        "server_cpu_us": keepalive, "floor_us": runs["enroll-keepalive"]["floor_us_per_op"],
        "ratio_to_floor": runs["enroll-keepalive"]["ratio_to_floor"],
        "parts_us": {"pipeline": round(pipeline, 1), "registry_write": round(registry, 1),
                     "keepalive_request": request},
        "ratio_to_parts": round(keepalive / parts_keepalive, 2),
        "enrollments_per_s": round(runs["enroll-keepalive"]["enrollments_per_s"]),
    },
    "new_connection": {
        "server_cpu_us": new_connection, "floor_us": runs["enroll-new"]["floor_us_per_op"],
        "ratio_to_floor": runs["enroll-new"]["ratio_to_floor"],
        "parts_us": {"s_server_handshake": handshake, "keepalive_enrollment": keepalive},
        "ratio_to_parts": round(new_connection / parts_new, 2),
        "cacerts_server_cpu_us": runs["cacerts-new"]["server_cpu_us_per_op"],
        "enrollments_per_s": round(runs["enroll-new"]["enrollments_per_s"]),
    },
    "openssl_reference": reference,
}
table = [
    ("enrollment pipeline, no I/O (est_benchmarks)", pipeline),
    ("registry write, shared commits (est_benchmarks)", registry),
    ("one keep-alive request (cacerts)", request),
    ("enroll, keep-alive", keepalive),
    ("OpenSSL s_server, one handshake", handshake),
    ("cacerts, new connection", runs["cacerts-new"]["server_cpu_us_per_op"]),
    ("enroll, new connection", new_connection),
]
for name, value in table:
    print(f"{name:<50} {value:8.0f} us", file=sys.stderr)
print(f"keep-alive: {result['keepalive']['ratio_to_floor']:.2f}x its floor, "
      f"{result['keepalive']['ratio_to_parts']:.2f}x pipeline + registry + request", file=sys.stderr)
print(f"new connection: {result['new_connection']['ratio_to_floor']:.2f}x its floor, "
      f"{result['new_connection']['ratio_to_parts']:.2f}x s_server handshake + keep-alive enrollment",
      file=sys.stderr)
print(json.dumps(result))
PY

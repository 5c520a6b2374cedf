#!/usr/bin/env bash
# decomposition.sh --quick against this build: every part is measured and reported, no request
# fails; a wrong argument or a build without the binaries is refused with exit 2.
# Usage: bench/decomposition_test.sh BUILD_DIR
set -euo pipefail
script="$(dirname "$0")/decomposition.sh"
build=${1:?usage: decomposition_test.sh BUILD_DIR}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

bash "$script" "$build" --quick >"$work/report.json" 2>"$work/err" ||
  { echo "FAIL: decomposition.sh --quick: $(cat "$work/err")"; exit 1; }
python3 - "$work/report.json" <<'PY' || { echo "FAIL: the report is wrong: $(cat "$work/report.json")"; exit 1; }
import json, sys
r = json.load(open(sys.argv[1]))
k, n = r["keepalive"], r["new_connection"]
assert all(v > 0 for v in k["parts_us"].values()), k
assert all(v > 0 for v in n["parts_us"].values()), n
for part in (k, n):
    assert part["server_cpu_us"] > 0 and part["floor_us"] > 0 and part["ratio_to_parts"] > 0, part
assert n["parts_us"]["keepalive_enrollment"] == k["server_cpu_us"], r
assert n["parts_us"]["s_server_handshake"] == r["openssl_reference"]["s_server_cpu_us_per_handshake"], r
PY
grep -q '^enroll, new connection ' "$work/err" || { echo "FAIL: no table on stderr: $(cat "$work/err")"; exit 1; }
echo "PASS: every part of the window is measured and reported"

status=0
bash "$script" "$build" --fast >/dev/null 2>"$work/err" || status=$?
[[ $status == 2 ]] && grep -q 'usage:' "$work/err" ||
  { echo "FAIL: an unknown option: expected exit 2 with the usage, got $status: $(cat "$work/err")"; exit 1; }
status=0
bash "$script" "$work/no-build" >/dev/null 2>"$work/err" || status=$?
[[ $status == 2 ]] && grep -q 'is missing' "$work/err" ||
  { echo "FAIL: a build without binaries: expected exit 2 naming the binary, got $status: $(cat "$work/err")"; exit 1; }
echo "PASS: a wrong option and a build without the binaries are refused with exit 2"

#!/usr/bin/env bash
# revocation_flood.sh --quick against this build: the two quiet runs and the flooded one enroll
# without an error; the 20-CertID requests are answered, the 64 KiB ones refused with
# malformedRequest (the cap), every GET /crl gets the whole CRL; a wrong argument or a build
# without the binaries is refused with exit 2.
# Usage: bench/revocation_flood_test.sh BUILD_DIR
set -euo pipefail
script="$(dirname "$0")/revocation_flood.sh"
build=${1:?usage: revocation_flood_test.sh BUILD_DIR}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

bash "$script" "$build" --quick >"$work/report.json" 2>"$work/err" ||
  { echo "FAIL: revocation_flood.sh --quick: $(cat "$work/err")"; exit 1; }
python3 - "$work/report.json" <<'PY' || { echo "FAIL: the report is wrong: $(cat "$work/report.json")"; exit 1; }
import json, sys
r = json.load(open(sys.argv[1]))
assert len(r["quiet"]["runs"]) == 2 and len(r["flooded"]["runs"]) == 1, r
for run in r["quiet"]["runs"] + r["flooded"]["runs"] + [r["quiet"]["mean"], r["flooded"]["mean"]]:
    assert run["enrollments_per_s"] > 0 and run["p99_ms"] > 0, run
floods, crl = r["floods"], r["crl"]
assert floods["ocsp"]["probe"] == {"status": "successful", "answers": 20}, floods
assert floods["big"]["probe"] == {"status": "malformedrequest", "answers": 0}, floods
assert floods["big"]["request_bytes"] > 60000, floods
for kind in ("ocsp", "big", "crl"):
    assert floods[kind]["requests"] > 0, floods
    assert floods[kind]["http_statuses"] == {"200": floods[kind]["requests"]}, floods
assert floods["ocsp"]["answer_bytes"][0] > 20 * 100, floods  # 20 signed answers
assert floods["big"]["answer_bytes"] == [5, 5], floods  # the bare malformedRequest response
assert floods["crl"]["answer_bytes"] == [crl["der_bytes"], crl["der_bytes"]], (floods, crl)
assert crl["der_bytes"] > 30 * crl["entries"], crl
PY
grep -q '^flooded/quiet: throughput ' "$work/err" || { echo "FAIL: no table on stderr: $(cat "$work/err")"; exit 1; }
echo "PASS: enrollment beside the OCSP and CRL floods is measured; the cap refuses the 64 KiB requests"

status=0
bash "$script" "$build" --fast >/dev/null 2>"$work/err" || status=$?
[[ $status == 2 ]] && grep -q 'usage:' "$work/err" ||
  { echo "FAIL: an unknown option: expected exit 2 with the usage, got $status: $(cat "$work/err")"; exit 1; }
status=0
bash "$script" "$work/no-build" >/dev/null 2>"$work/err" || status=$?
[[ $status == 2 ]] && grep -q 'is missing' "$work/err" ||
  { echo "FAIL: a build without binaries: expected exit 2 naming the binary, got $status: $(cat "$work/err")"; exit 1; }
echo "PASS: a wrong option and a build without the binaries are refused with exit 2"

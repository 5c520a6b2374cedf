#!/usr/bin/env bash
# openssl_handshake.sh for one second: it must count handshakes, read s_server's CPU and the
# primitives' cost, and refuse a duration that is not a whole number of seconds.
set -euo pipefail
script="$(dirname "$0")/openssl_handshake.sh"

report=$(bash "$script" 1)
python3 - "$report" <<'PY'
import json, sys
r = json.loads(sys.argv[1])
assert r["handshakes"] > 0, r
assert r["s_server_cpu_us_per_handshake"] > 0, r
speed = r["speed_us"]
assert all(speed[k] > 0 for k in ("x25519_derive", "ecdsa_p256_sign", "ecdsa_p256_verify")), r
assert abs(r["handshake_floor_us"] - (2 * speed["x25519_derive"] + speed["ecdsa_p256_sign"])) < 0.2, r
assert abs(r["ratio_to_floor"] - r["s_server_cpu_us_per_handshake"] / r["handshake_floor_us"]) < 0.02, r
PY
echo "PASS: the reference counts handshakes and reads s_server's CPU and the primitives' cost"

status=0
bash "$script" 1.5 >/dev/null 2>"${TMPDIR:-/tmp}/openssl_handshake_err.$$" || status=$?
message=$(cat "${TMPDIR:-/tmp}/openssl_handshake_err.$$"); rm -f "${TMPDIR:-/tmp}/openssl_handshake_err.$$"
[[ $status == 2 && $message == *"whole number of seconds"* ]] ||
  { echo "FAIL: a duration of 1.5 s: expected exit 2 naming the problem, got $status: $message"; exit 1; }
echo "PASS: a duration that is not whole seconds is refused with exit 2"

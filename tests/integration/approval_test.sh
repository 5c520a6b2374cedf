#!/usr/bin/env bash
# A profile whose enrollments wait for an operator: 202 + Retry-After until `est-server approve`,
# the device recognised on retry by its ThingName and key, a rejection refused for good.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"
: "${EST_EXAMPLES:?EST_EXAMPLES must point at the examples folder}"
init_data
cat >>"$DATA/est-server.toml" <<'EOT'

[profiles.line]
auth = ["basic"]
fleet_secret_file = "fleet/default.secret"
approval = "manual"
retry_after = "1s"
EOT
start_server
cd "$WORK"
root=$DATA/ca/root.pem
EST_FLEET_SECRET=$(est_server fleet secret --data "$DATA" --profile line) || fail "fleet secret of line"
export EST_FLEET_SECRET
provision=(provision --server "$URL" --ca-file "$root" --label line --config "$EST_EXAMPLES/client_config.json")

expect_exit 3 "provisioning through a manual profile" -- est_client "${provision[@]}" --out out
[[ $(grep -c ' pending ' "$WORK/stdout") -eq 2 ]] || fail "both devices should be pending: $(cat "$WORK/stdout")"
[[ ! -e out/DeviceAlpha/certificate.pem ]] || fail "a pending device got a certificate"
requests=$(est_server requests list --data "$DATA" --json)
[[ $(grep -c '"status": "pending"' <<<"$requests") -eq 2 ]] || fail "requests: $requests"
[[ -z $(est_server certs list --data "$DATA" --json | tr -d '[:space:][]') ]] || fail "a pending request issued a certificate"
pass "a manual profile answers 202: both devices pending, nothing issued (exit 3)"

expect_exit 3 "a second run before approval" -- est_client "${provision[@]}" --out out
[[ $(est_server requests list --data "$DATA" --json) == "$requests" ]] ||
  fail "a retry with the same key made a new request"
pass "a retry with the same key finds its request, still pending"

est_server reject DeviceBeta --data "$DATA" >/dev/null || fail "reject DeviceBeta"
# The device waits (Retry-After 1s) while the operator approves.
est_client "${provision[@]}" --out out --wait 30 >waited.txt 2>&1 &
waiting=$!
sleep 1
est_server approve DeviceAlpha --data "$DATA" >/dev/null || fail "approve DeviceAlpha"
status=0
wait "$waiting" || status=$?
[[ $status -eq 1 ]] || fail "expected exit 1 (DeviceBeta rejected), got $status: $(cat waited.txt)"
grep -q 'DeviceAlpha  *enrolled' waited.txt || fail "DeviceAlpha was not enrolled after approval: $(cat waited.txt)"
grep -q 'DeviceBeta  *failed.*403' waited.txt || fail "DeviceBeta's rejection: $(cat waited.txt)"
openssl verify -CAfile "$root" -untrusted out/DeviceAlpha/certificate.pem out/DeviceAlpha/certificate.pem >/dev/null ||
  fail "DeviceAlpha's certificate after approval"
requests=$(est_server requests list --data "$DATA" --json)
grep -q '"status": "issued"' <<<"$requests" || fail "the approved request is not marked issued: $requests"
grep -q '"status": "rejected"' <<<"$requests" || fail "the rejected request: $requests"
[[ $(est_server certs list --data "$DATA" --json | grep -c '"serial"') -eq 1 ]] || fail "exactly one certificate should exist"
pass "approve: the waiting device is issued on its next retry; reject: 403, nothing issued"

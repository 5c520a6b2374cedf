#!/usr/bin/env bash
# Ways back that need no operator, walked against the real server with clients nobody here wrote
# (curl, openssl) and with est-client:
# - a first enrollment whose answer was lost: the same request again gets the same certificate,
#   nothing is issued twice; another key is still refused;
# - two identical enrollments at once issue one certificate;
# - a device whose certificate expired (certificates valid for seconds) enrolls again with
#   `est-client provision --force`, and with plain `provision`; `things list` shows it as expired
#   meanwhile, and the audit log says which certificate the new one superseded.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"
: "${EST_EXAMPLES:?EST_EXAMPLES must point at the examples folder}"
init_data
# Certificates for seconds, backdated by one second (within a quarter of the validity).
sed -i 's/^validity = "365d"/validity = "6s"/; s/^backdate = "5m"/backdate = "1s"/' "$DATA/est-server.toml"
grep -q '^validity = "6s"' "$DATA/est-server.toml" || fail "could not set the profile's validity"
grep -q '^backdate = "1s"' "$DATA/est-server.toml" || fail "could not set the profile's backdate"
start_server
cd "$WORK"
root=$DATA/ca/root.pem
EST=https://127.0.0.1:$PORT/.well-known/est
tls=(--cacert "$root")
auth=(-u "alice:$PASSWORD")
pkcs10=(-H 'Content-Type: application/pkcs10')

cert_rows() { est_server certs list --thing "$1" --data "$DATA" --json | grep -c '"serial"' || true; }

# --- a lost answer to simpleenroll --------------------------------------------------------------
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout lost.key \
  -subj /CN=lost-device -outform DER -out lost.der 2>/dev/null
base64 lost.der >lost.b64
expect_status 200 "first enrollment" -- "${tls[@]}" "${auth[@]}" "${pkcs10[@]}" --data-binary @lost.b64 "$EST/simpleenroll"
decode_certs first.pem
# The device never read that answer. It asks again with the same key, in a CSR made anew.
openssl req -new -key lost.key -subj /CN=lost-device -outform DER 2>/dev/null | base64 >again.b64
expect_status 200 "the same enrollment asked again" -- "${tls[@]}" "${auth[@]}" "${pkcs10[@]}" \
  --data-binary @again.b64 "$EST/simpleenroll"
expect_base64_body "repeated enrollment"
decode_certs again.pem
cmp -s first.pem again.pem || fail "the repeated enrollment answered another certificate"
[[ $(cert_rows lost-device) -eq 1 ]] || fail "a repeated enrollment registered a second certificate"
est_server audit export --data "$DATA" --json | grep '"lost-device"' | grep -q '"result":"repeated"' ||
  fail "the repeat is not in the audit log: $(est_server audit export --data "$DATA" --json | tail -3)"
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout other.key \
  -subj /CN=lost-device -outform DER 2>/dev/null | base64 >other.b64
expect_refusal 409 "another key for the same thing" -- "${tls[@]}" "${auth[@]}" "${pkcs10[@]}" \
  --data-binary @other.b64 "$EST/simpleenroll"
pass "a lost simpleenroll answer: the same request gets the same certificate; another key 409"

# --- identical enrollments racing ---------------------------------------------------------------
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout race.key \
  -subj /CN=race-device -outform DER 2>/dev/null | base64 >race.b64
racers=()
for i in 1 2 3 4 5 6; do
  curl -sS --max-time "$COMMAND_TIMEOUT" "${tls[@]}" "${auth[@]}" "${pkcs10[@]}" --data-binary @race.b64 \
    -o "race$i.body" -w '%{http_code}' "$EST/simpleenroll" >"race$i.status" 2>/dev/null &
  racers+=($!)
done
wait "${racers[@]}" # not the server, which runs in the background too
for i in 1 2 3 4 5 6; do
  [[ $(cat "race$i.status") == 200 ]] || fail "racing request $i: $(cat "race$i.status") $(cat "race$i.body")"
  cmp -s race1.body "race$i.body" || fail "racing request $i got another certificate"
done
[[ $(cert_rows race-device) -eq 1 ]] || fail "racing identical requests issued $(cert_rows race-device) certificates"
pass "six identical enrollments at once: one certificate, the same answer to each"

# --- an expired certificate ---------------------------------------------------------------------
EST_FLEET_SECRET=$(est_server fleet secret --data "$DATA") || fail "fleet secret"
export EST_FLEET_SECRET
config=$EST_EXAMPLES/client_config.json
provision=(provision --config "$config" --out out --server "$URL" --ca-file "$root")
est_client "${provision[@]}" >provision.txt || fail "provisioning: $(cat provision.txt)"
serial_of() { openssl x509 -in "out/$1/certificate.pem" -noout -serial | cut -d= -f2; }
alpha_old=$(serial_of DeviceAlpha)
beta_old=$(serial_of DeviceBeta)
sleep 7 # past notAfter (6 s from issuance)
est_server things list --data "$DATA" | grep -E '^DeviceAlpha ' | grep -q ' expired ' ||
  fail "things list does not show DeviceAlpha's certificate as expired: $(est_server things list --data "$DATA")"
est_server certs list --thing DeviceAlpha --data "$DATA" | grep -q "$alpha_old *DeviceAlpha *expired" ||
  fail "certs list does not show the expired certificate as such"

expect_exit 0 "provision --force of an expired device" -- est_client "${provision[@]}" --force
alpha_new=$(serial_of DeviceAlpha)
[[ $alpha_new != "$alpha_old" ]] || fail "provision --force left the expired certificate in place"
openssl verify -CAfile "$root" -untrusted "$DATA/ca/chain.pem" out/DeviceAlpha/certificate.pem >/dev/null ||
  fail "the new certificate does not verify"
old_row=$(est_server certs list --thing DeviceAlpha --data "$DATA" --json)
grep -q "\"replaces\": \"$alpha_old\"" <<<"$old_row" || fail "the new certificate does not name the expired one it replaces: $old_row"
est_server audit export --data "$DATA" --json | grep -q "supersedes $alpha_old" ||
  fail "the audit log does not say which expired certificate was superseded"
pass "provision --force recovers an expired device; the expired certificate is superseded and audited"

sleep 7 # both expired again
est_client "${provision[@]}" >again.txt || fail "provision of expired devices without --force: $(cat again.txt)"
[[ $(serial_of DeviceBeta) != "$beta_old" ]] || fail "provision did not re-enroll DeviceBeta's expired certificate"
grep -q "^DeviceBeta  *enrolled " again.txt || fail "summary: $(cat again.txt)"
pass "provision without --force enrolls devices whose certificates expired"

#!/usr/bin/env bash
# Fleet provisioning end to end: est-client provision enrolls the example fleet with the fleet
# secret, the registry holds each thing with the policy its IoT details asked for, and every
# refusal leaves the registry exactly as it was.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"
: "${EST_EXAMPLES:?EST_EXAMPLES must point at the examples folder}"
init_data
start_server
cd "$WORK"
root=$DATA/ca/root.pem
EST=https://127.0.0.1:$PORT/.well-known/est
EST_FLEET_SECRET=$(est_server fleet secret --data "$DATA") || fail "fleet secret"
export EST_FLEET_SECRET
provision=(provision --server "$URL" --ca-file "$root")

# Everything the registry holds that a refusal could change.
registry_snapshot() {
  est_server things list --data "$DATA" --json
  est_server certs list --data "$DATA" --json
  est_server requests list --data "$DATA" --json
  local thing
  for thing in $(est_server things list --data "$DATA" --json | sed -n 's/^ *"name": "\(.*\)",$/\1/p'); do
    est_server policy show "$thing" --data "$DATA"
  done
}
expect_registry_unchanged() {
  registry_snapshot >after.txt
  cmp -s before.txt after.txt || fail "$1 changed the registry: $(diff before.txt after.txt | head -20)"
}

# --- the example fleet, unchanged config ------------------------------------------------------
est_client "${provision[@]}" --config "$EST_EXAMPLES/client_config.json" --out out >summary.txt ||
  fail "provisioning the example fleet: $(cat summary.txt)"
for thing in DeviceAlpha DeviceBeta; do
  dir=out/$thing
  for file in private_key.pem certificate.pem root_ca.pem; do
    [[ -s $dir/$file ]] || fail "$dir/$file is missing"
  done
  [[ $(stat -c %a "$dir/private_key.pem") == 600 ]] || fail "$thing's key is mode $(stat -c %a "$dir/private_key.pem")"
  cmp -s "$dir/root_ca.pem" "$root" || fail "$thing's root_ca.pem is not the server's root"
  openssl verify -CAfile "$dir/root_ca.pem" -untrusted "$dir/certificate.pem" "$dir/certificate.pem" >/dev/null ||
    fail "$thing's certificate does not chain to root_ca.pem"
  openssl x509 -in "$dir/certificate.pem" -noout -subject | grep -qx "subject=CN *= *$thing" ||
    fail "$thing's certificate subject"
  [[ $(openssl x509 -in "$dir/certificate.pem" -noout -pubkey) == "$(openssl pkey -in "$dir/private_key.pem" -pubout)" ]] ||
    fail "$thing's certificate does not hold its private key"
  grep -q "^$thing  *enrolled " summary.txt || fail "summary for $thing: $(cat summary.txt)"
done
pass "the example fleet provisioned: files, key modes, chains and keys checked"

things=$(est_server things list --data "$DATA" --json)
for thing in DeviceAlpha DeviceBeta; do
  grep -q "\"name\": \"$thing\"" <<<"$things" || fail "$thing is not a registered thing"
done
[[ $(grep -c '"Region": "local"' <<<"$things") -eq 2 ]] || fail "Region was not kept as an attribute: $things"
alpha=$(est_server policy show DeviceAlpha --data "$DATA")
grep -q '"Version": "2012-10-17"' <<<"$alpha" || fail "DeviceAlpha's policy has no Version"
for expected in iot:Connect client/DeviceAlpha iot:Publish topic/sensors/DeviceAlpha/telemetry; do
  grep -q "\"$expected\"" <<<"$alpha" || fail "DeviceAlpha's policy lacks $expected: $alpha"
done
# Receive and Subscribe are null for DeviceAlpha: no statement at all, not an Allow.
grep -q 'iot:Receive\|iot:Subscribe' <<<"$alpha" && fail "DeviceAlpha's null policies became statements: $alpha"
beta=$(est_server policy show DeviceBeta --data "$DATA")
for expected in iot:Receive topic/broadcast iot:Subscribe topicfilter/broadcast topicfilter/commands/DeviceBeta; do
  grep -q "\"$expected\"" <<<"$beta" || fail "DeviceBeta's policy lacks $expected: $beta"
done
[[ $(grep -c '"Effect": "Allow"' <<<"$beta") -eq 4 ]] || fail "DeviceBeta should hold four Allow statements"
pass "the registry holds both things with Region and the AWS IoT policy documents they asked for"

registry_snapshot >before.txt
est_client "${provision[@]}" --config "$EST_EXAMPLES/client_config.json" --out out >summary.txt ||
  fail "re-run: $(cat summary.txt)"
grep -q '0 enrolled, 2 skipped' summary.txt || fail "a re-run did not skip: $(cat summary.txt)"
expect_registry_unchanged "a re-run"
pass "a re-run skips devices that hold a valid certificate"

# --- refusals: each changes nothing -----------------------------------------------------------
# A fleet config of one device: fleet_config NAME POLICIES TOPICS
fleet_config() {
  printf '{"ESTDetails": {"ESTAPIURL": "%s", "Region": "local", "KV_Name": "EST_FLEET_SECRET"},\n' "$URL"
  printf ' "Devices": [{"IoTDetails": {"ThingName": "%s", "Policies": %s, "Topics": %s}}]}\n' "$1" "$2" "$3"
}

sed 's/"DeviceBeta"/"DeviceAlpha"/' "$EST_EXAMPLES/client_config.json" >duplicate.json
expect_exit 2 "a config with a duplicate ThingName" -- est_client "${provision[@]}" --config duplicate.json --out out2
grep -qF '$.Devices[1].IoTDetails.ThingName' "$WORK/err" || fail "duplicate name message: $(cat "$WORK/err")"
fleet_config DeviceGamma '{"Jump": true}' '{}' >unknown-action.json
expect_exit 2 "an unknown policy key" -- est_client "${provision[@]}" --config unknown-action.json --out out2
grep -qF '$.Devices[0].IoTDetails.Policies.Jump' "$WORK/err" || fail "unknown action message: $(cat "$WORK/err")"
printf '{"ESTDetails": {' >broken.json
expect_exit 2 "a config that is not JSON" -- est_client "${provision[@]}" --config broken.json --out out2
[[ ! -e out2 ]] || fail "a refused config wrote output"
expect_registry_unchanged "invalid configs"
pass "invalid configs are refused before any network traffic, naming the JSON path (exit 2)"

fleet_config DeviceGamma '{"Publish": true}' '{"Publish": {"Name1": "topic/sensors/DeviceBeta/telemetry"}}' >greedy.json
expect_exit 1 "a device asking for another device's topic" -- \
  est_client "${provision[@]}" --config greedy.json --out out2
grep -q 'DeviceGamma  *failed' "$WORK/stdout" || fail "the summary does not show the refusal: $(cat "$WORK/stdout")"
grep -q '403' "$WORK/stdout" || fail "beyond-template status: $(cat "$WORK/stdout")"
grep -q 'Topics.Publish.Name1' "$WORK/stdout" || fail "the refusal does not name the entry: $(cat "$WORK/stdout")"
[[ ! -e out2/DeviceGamma/certificate.pem ]] || fail "a refused device got a certificate"
expect_registry_unchanged "a request beyond the template"
pass "IoT details beyond the profile's template: 403 naming the entry, nothing registered"

fleet_config DeviceGamma '{"Connect": true}' '{"Connect": {"Name1": "client/DeviceGamma"}}' >gamma.json
EST_FLEET_SECRET=not-the-fleet-secret expect_exit 1 "a wrong fleet secret" -- \
  est_client "${provision[@]}" --config gamma.json --out out3
grep -q '401' "$WORK/stdout" || fail "wrong fleet secret status: $(cat "$WORK/stdout")"
expect_registry_unchanged "a wrong fleet secret"
pass "a password that is not the fleet secret's derivation: 401, nothing registered"

# A local user pre-creates the device's pending key (mode 0644, his own key): it must not be
# certified with DeviceDelta's fleet password. Nor is a folder others may write into used.
fleet_config DeviceDelta '{"Connect": true}' '{"Connect": {"Name1": "client/DeviceDelta"}}' >delta.json
mkdir -m 700 -p out4/DeviceDelta
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out out4/DeviceDelta/private_key.pem.pending 2>/dev/null
chmod 644 out4/DeviceDelta/private_key.pem.pending
expect_exit 1 "a planted pending key" -- est_client "${provision[@]}" --config delta.json --out out4
grep -q 'private_key.pem.pending has mode 0644, not 0600' "$WORK/stdout" ||
  fail "planted pending key message: $(cat "$WORK/stdout")"
rm out4/DeviceDelta/private_key.pem.pending
chmod 770 out4/DeviceDelta
expect_exit 1 "a group-writable device folder" -- est_client "${provision[@]}" --config delta.json --out out4
grep -q 'others may write into it' "$WORK/stdout" || fail "group-writable folder message: $(cat "$WORK/stdout")"
mkdir -m 700 elsewhere
rm -r out4/DeviceDelta
ln -s "$WORK/elsewhere" out4/DeviceDelta
expect_exit 1 "a symlinked device folder" -- est_client "${provision[@]}" --config delta.json --out out4
grep -q 'is a symbolic link' "$WORK/stdout" || fail "symlinked folder message: $(cat "$WORK/stdout")"
[[ -z $(ls -A elsewhere) ]] || fail "provision wrote through the symlinked folder"
expect_registry_unchanged "refused device folders"
(umask 0 && est_client "${provision[@]}" --config delta.json --out out5 >delta.txt) ||
  fail "provisioning DeviceDelta: $(cat delta.txt)"
[[ $(stat -c %a out5/DeviceDelta) == 700 ]] || fail "the device folder is mode $(stat -c %a out5/DeviceDelta) under umask 0"
registry_snapshot >before.txt  # DeviceDelta is enrolled now
pass "a planted pending key, a group-writable or symlinked folder are refused, nothing sent; new folders are 0700"

expect_exit 1 "provision --force over an active certificate" -- \
  est_client "${provision[@]}" --config "$EST_EXAMPLES/client_config.json" --out out --force
grep -q '409' "$WORK/stdout" || fail "takeover status: $(cat "$WORK/stdout")"
openssl verify -CAfile "$root" -untrusted out/DeviceAlpha/certificate.pem out/DeviceAlpha/certificate.pem >/dev/null ||
  fail "a refused --force damaged DeviceAlpha's files"
expect_registry_unchanged "a second initial enrollment"
pass "an initial enrollment of a ThingName with an active certificate: 409, files and registry kept"

# --- an independent client: openssl builds the CSR with the IoT details, curl enrolls -----------
der_utf8_hex() { # the DER UTF8String of $1, as hex for openssl's DER: extension syntax
  local n=${#1} length
  if ((n < 128)); then length=$(printf '%02x' "$n"); else length=81$(printf '%02x' "$n"); fi
  printf '0c%s%s' "$length" "$(printf '%s' "$1" | od -An -tx1 | tr -d ' \n')"
}
iot_csr() { # iot_csr FILE CN JSON
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$1.key" -subj "/CN=$2" \
    -addext "2.25.231872403115171669323704536858287047134=DER:$(der_utf8_hex "$3")" -outform DER 2>/dev/null |
    base64 >"$1.b64"
}
enroll_args() { # enroll_args NAME CSR-FILE: curl arguments to enroll CSR-FILE with NAME's fleet password
  local password
  password=$(est_server fleet password "$1" --data "$DATA") || fail "fleet password $1"
  curl_args=(--cacert "$root" -u "$1:$password" -H 'Content-Type: application/pkcs10'
    --data-binary "@$2" "$EST/simpleenroll")
}
gamma='{"ThingName":"DeviceGamma","Policies":{"Connect":true},"Topics":{"Connect":{"Name1":"client/DeviceGamma"}}}'

iot_csr mismatch DeviceGamma "${gamma/\"ThingName\":\"DeviceGamma\"/\"ThingName\":\"DeviceDelta\"}"
enroll_args DeviceGamma mismatch.b64
expect_refusal 400 "IoTDetails.ThingName differs from the CN" -- "${curl_args[@]}"
iot_csr malformed DeviceGamma '{"ThingName": "DeviceGamma", "Policies": '
enroll_args DeviceGamma malformed.b64
expect_refusal 400 "malformed IoT details JSON" -- "${curl_args[@]}"
iot_csr unknown DeviceGamma '{"ThingName":"DeviceGamma","Policies":{"Teleport":true},"Topics":{}}'
enroll_args DeviceGamma unknown.b64
expect_refusal 400 "an unknown action" -- "${curl_args[@]}"
grep -q 'Teleport' "$WORK/body" || fail "the unknown action is not named: $(cat "$WORK/body")"
iot_csr other DeviceDelta "${gamma//DeviceGamma/DeviceDelta}"
enroll_args DeviceGamma other.b64
expect_refusal 403 "DeviceGamma's fleet password used for DeviceDelta" -- "${curl_args[@]}"
# A device named after a fixed segment of the template (topic/sensors/${ThingName}) would own that
# namespace; without IoT details it would get the default policy, so the name is refused first.
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout sensors.key -subj /CN=sensors \
  -outform DER 2>/dev/null | base64 >sensors.b64
enroll_args sensors sensors.b64
expect_refusal 403 "CN=sensors without IoT details" -- "${curl_args[@]}"
grep -q 'ThingName sensors is reserved' "$WORK/body" || fail "the reserved name is not named: $(cat "$WORK/body")"
expect_registry_unchanged "the refused curl enrollments"
pass "openssl + curl: ThingName mismatch 400, malformed JSON 400, unknown action 400, another device's name 403, a reserved name without IoT details 403; nothing registered"

iot_csr gamma DeviceGamma "$gamma"
enroll_args DeviceGamma gamma.b64
expect_status 200 "enroll DeviceGamma with openssl + curl" -- "${curl_args[@]}"
est_server policy show DeviceGamma --data "$DATA" | grep -q '"client/DeviceGamma"' ||
  fail "DeviceGamma's policy was not stored"
pass "openssl + curl enroll with IoT details in the CSR; the policy is stored"

# --- the operator cuts a device off -----------------------------------------------------------
est_server things disable DeviceBeta --data "$DATA" >/dev/null || fail "things disable"
est_server certs list --thing DeviceBeta --data "$DATA" --json | grep -q '"status": "revoked"' ||
  fail "disabling DeviceBeta did not revoke its certificate"
expect_exit 1 "renewing a disabled thing's certificate" -- \
  est_client reenroll --server "$URL" --ca-file "$root" --cert out/DeviceBeta/certificate.pem \
  --key out/DeviceBeta/private_key.pem --key-out beta.key --cert-out beta.pem
grep -q '403' "$WORK/err" || fail "disabled renewal status: $(cat "$WORK/err")"
pass "things disable revokes the certificate and the device cannot renew (403)"

#!/usr/bin/env bash
# A renewal whose answer never reached the device: the server issued the new certificate (and
# superseded the old one), but the device lost power before it swapped the files. The device comes
# back with its old pair and the new key that `est-client renew` saved before sending; the next
# renew asks again with that key and gets the very same certificate, without a new issuance. With
# any other key the old certificate stays refused, and the device renews normally afterwards.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"
: "${EST_EXAMPLES:?EST_EXAMPLES must point at the examples folder}"
init_data
start_server
cd "$WORK"
root=$DATA/ca/root.pem
config=$EST_EXAMPLES/client_config.json
things=(DeviceAlpha DeviceBeta)
EST_FLEET_SECRET=$(est_server fleet secret --data "$DATA") || fail "fleet secret"
export EST_FLEET_SECRET

est_client provision --config "$config" --out out --server "$URL" --ca-file "$root" >provision.txt ||
  fail "provisioning: $(cat provision.txt)"

serial_of() { openssl x509 -in "$1/certificate.pem" -noout -serial 2>/dev/null | cut -d= -f2; }
certificate_count() {
  est_server certs list --data "$DATA" --json >certs.json || fail "certs list"
  grep -c '"serial":' certs.json
}
renew_now() { est_client renew --config "$config" --out "$1" --server "$URL" --ca-file "$root" --now; }

# --- the renewal happens on the server, the answer is lost on the device ------------------------
cp -a out before # the device's files as they are while the request is in flight
renew_now out >first.txt || fail "the first renewal: $(cat first.txt)"
grep -q '2 renewed, 0 skipped, 0 pending, 0 failed' first.txt || fail "first renewal: $(cat first.txt)"
declare -A issued
for thing in "${things[@]}"; do
  issued[$thing]=$(serial_of "out/$thing")
  [[ ${issued[$thing]} != "$(serial_of "before/$thing")" ]] || fail "$thing was not renewed"
  # What `renew` had on disk before it sent the request: the new key as private_key.pem.renewing.
  cp -L "out/$thing/private_key.pem" "before/$thing/private_key.pem.renewing"
  chmod 600 "before/$thing/private_key.pem.renewing"
done
rm -rf out
mv before device # power comes back: the old pair, and the saved key
cp -a device other_key
count=$(certificate_count)
pass "renewed on the server, answer lost: the devices hold their old pairs and the saved keys"

# --- the next renewal gets the same certificate again -------------------------------------------
renew_now device >retry.txt || fail "the renewal after the lost answer: $(cat retry.txt)"
grep -q '2 renewed, 0 skipped, 0 pending, 0 failed' retry.txt || fail "retry: $(cat retry.txt)"
for thing in "${things[@]}"; do
  [[ $(serial_of "device/$thing") == "${issued[$thing]}" ]] ||
    fail "$thing holds $(serial_of "device/$thing"), not the certificate issued before (${issued[$thing]})"
  grep -q "^$thing  *renewed  *${issued[$thing]} " retry.txt || fail "$thing summary: $(cat retry.txt)"
  [[ $(openssl pkey -in "device/$thing/private_key.pem" -pubout) == "$(openssl pkey -in "other_key/$thing/private_key.pem.renewing" -pubout)" ]] ||
    fail "$thing did not install the key it had saved"
  [[ $(openssl pkey -in "device/$thing/private_key.pem" -pubout) == "$(openssl x509 -in "device/$thing/certificate.pem" -noout -pubkey)" ]] ||
    fail "$thing holds a mismatched pair"
  [[ ! -e device/$thing/private_key.pem.renewing ]] || fail "$thing kept the renewing key after installing it"
  grep -q "POST /.well-known/est/simplereenroll 200 thing=$thing serial=${issued[$thing]} " server.log ||
    fail "$thing: the server did not log the repeated answer"
done
[[ $(certificate_count) == "$count" ]] || fail "the repeat issued a certificate: $(cat certs.json)"
est_server audit export --data "$DATA" --json >audit.json || fail "audit export"
repeats=$(grep '"operation":"simplereenroll"' audit.json | grep -c '"result":"repeated"' || true)
[[ $repeats == 2 ]] || fail "expected 2 audit rows 'repeated', found $repeats: $(tail -n 3 audit.json)"
pass "the retry with the saved key got the same certificates (${issued[*]}), nothing new was issued"

# --- another key stays refused ------------------------------------------------------------------
rm other_key/DeviceAlpha/private_key.pem.renewing # the key was lost too: a fresh one is made
install -m 600 /dev/null other_key/DeviceBeta/private_key.pem.renewing
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 2>/dev/null >other_key/DeviceBeta/private_key.pem.renewing
pair_of() { cat "other_key/$1/private_key.pem" "other_key/$1/certificate.pem"; }
alpha_before=$(pair_of DeviceAlpha)
beta_before=$(pair_of DeviceBeta)
expect_exit 1 "a renewal with another key" -- renew_now other_key
for thing in "${things[@]}"; do
  grep -q "^$thing  *failed .*already renewed; use the newer one" "$WORK/stdout" ||
    fail "$thing with another key: $(cat "$WORK/stdout")"
done
[[ $(pair_of DeviceAlpha) == "$alpha_before" && $(pair_of DeviceBeta) == "$beta_before" ]] ||
  fail "a refused renewal changed the device's pair"
[[ $(certificate_count) == "$count" ]] || fail "a refused renewal issued a certificate"
pass "with any other key the superseded certificate is refused (403) and nothing changes"

# --- life goes on -------------------------------------------------------------------------------
renew_now device >next.txt || fail "the next renewal: $(cat next.txt)"
for thing in "${things[@]}"; do
  next=$(serial_of "device/$thing")
  [[ $next != "${issued[$thing]}" ]] || fail "$thing was not renewed again"
  est_server certs list --thing "$thing" --data "$DATA" --json >chain.json || fail "certs list"
  awk '/"replaces":/ { r = $2 } /"serial":/ { print r, $2 }' chain.json | tr -d '",' |
    grep -qx "${issued[$thing]} $next" || fail "$thing: $next does not replace ${issued[$thing]}"
done
[[ $(certificate_count) == $((count + 2)) ]] || fail "the next renewal did not issue exactly 2"
pass "the next renewal issues a new certificate that replaces the repeated one"

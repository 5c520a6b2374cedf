#!/usr/bin/env bash
# CA rollover (RFC 7030 §4.1.3): devices enrolled under the old CA; refusals that change nothing;
# `est-server ca rollover`; cacerts carries the new chain, OldWithNew, NewWithOld and the old root,
# each checked with openssl pkcs7 and openssl verify; the TLS chain verifies with only the old root
# (curl, openssl s_client) and with only the new one; a device renews with est-client renew, gets
# a certificate from the new CA and ends up trusting both roots; a device holding only the old
# root validates the new chain through NewWithOld; an old-CA certificate revoked after the
# rollover shows in the old CA's CRL and in OCSP; a second rollover is refused, then forced.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"
: "${EST_EXAMPLES:?EST_EXAMPLES must point at the examples folder}"
init_data
start_server
cd "$WORK"
cp "$DATA/ca/root.pem" old_root.pem
cp "$DATA/ca/issuing.pem" old_issuing.pem
EST_FLEET_SECRET=$(est_server fleet secret --data "$DATA") || fail "fleet secret"
export EST_FLEET_SECRET
est_client provision --config "$EST_EXAMPLES/client_config.json" --out out --server "$URL" \
  --ca-file old_root.pem >provision.txt || fail "provisioning: $(cat provision.txt)"
beta_serial=$(openssl x509 -in out/DeviceBeta/certificate.pem -noout -serial | cut -d= -f2)
pass "two devices enrolled under the old CA"

# A checksum of every file in the data folder except the registry (the WAL moves on its own).
tree_sum() {
  (cd "$DATA" && find . -name 'registry.db*' -prune -o -type f -print0 |
    sort -z | xargs -0 sha256sum | sha256sum)
}

# --- refusals change nothing --------------------------------------------------------------------
before=$(tree_sum)
mv "$DATA/ca/root.key" root.key.aside
expect_exit 1 "rollover without the root key" -- est_server ca rollover --data "$DATA"
grep -q 'no root key (ca/root.key)' "$WORK/err" || fail "missing root key message: $(cat "$WORK/err")"
mv root.key.aside "$DATA/ca/root.key"
[[ $(tree_sum) == "$before" ]] || fail "a refused rollover changed the data folder"
cp "$DATA/ca/root.key" root.key.good
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-384 -out "$DATA/ca/root.key" 2>/dev/null
expect_exit 1 "rollover with another root key" -- est_server ca rollover --data "$DATA"
grep -q 'ca/root.key does not match ca/root.pem' "$WORK/err" || fail "mismatched root key: $(cat "$WORK/err")"
cp root.key.good "$DATA/ca/root.key"
expect_exit 1 "rollover with a validity of 0" -- est_server ca rollover --data "$DATA" --issuing-validity 0
[[ $(tree_sum) == "$before" ]] || fail "a refused rollover changed the data folder"
[[ -z $(find "$DATA" -maxdepth 1 -name '.ca-rollover.*') ]] || fail "a refused rollover left its staging folder"
pass "refused without the root key, with a wrong root key, with validity 0; nothing changed"

# --- the rollover -------------------------------------------------------------------------------
est_server ca rollover --data "$DATA" >rollover.txt 2>rollover.err || fail "ca rollover: $(cat rollover.err)"
grep -q '^new root CA: .*CN=est-fleet Root CA G2' rollover.txt || fail "rollover output: $(cat rollover.txt)"
grep -q '^NewWithOld link: serial [0-9A-F]*$' rollover.txt || fail "rollover output: $(cat rollover.txt)"
[[ ! -s rollover.err ]] || fail "rollover warned: $(cat rollover.err)"
for key in ca/root.key ca/issuing.key ca/previous/root.key ca/previous/issuing.key tls/server.key; do
  [[ $(stat -c %a "$DATA/$key") == 600 ]] || fail "$key is not 0600"
done
cmp -s old_root.pem "$DATA/ca/previous/root.pem" || fail "ca/previous/root.pem is not the old root"
cmp -s old_issuing.pem "$DATA/ca/previous/issuing.pem" || fail "ca/previous/issuing.pem is not the old issuing CA"
cmp -s old_root.pem "$DATA/ca/root.pem" && fail "ca/root.pem is still the old root"
cp "$DATA/ca/root.pem" new_root.pem
cp "$DATA/ca/issuing.pem" new_issuing.pem
est_server audit export --data "$DATA" --json >audit.json || fail "audit export"
[[ $(grep -o '"operation":"ca-rollover"' audit.json | wc -l) -eq 5 ]] ||
  fail "the audit log holds no five ca-rollover rows: $(grep ca-rollover audit.json)"
grep -q 'NewWithOld link (the new root' audit.json || fail "the audit log does not name NewWithOld"
pass "ca rollover: new root G2, previous CA kept under ca/previous (keys 0600), five audit rows"

# The server picks the new CA up when it restarts.
kill -TERM "$SERVER_PID"
wait "$SERVER_PID" || true
SERVER_PID=
start_server

# --- cacerts: new chain + OldWithNew + NewWithOld + OldWithOld, fetched trusting only the old root
expect_status 200 "cacerts trusting only the old root" -- --cacert old_root.pem "$URL/.well-known/est/cacerts"
expect_base64_body "cacerts"
decode_certs cacerts.pem
[[ $(cert_count cacerts.pem) -eq 5 ]] || fail "cacerts holds $(cert_count cacerts.pem) certificates, not 5"
# One file per certificate, named by subject CN and issuer CN.
awk '/-----BEGIN CERTIFICATE-----/ { n++ } n { print > ("cacert" n ".pem") }' cacerts.pem
for f in cacert[1-5].pem; do openssl x509 -in "$f" -out "$f" || fail "$f is no certificate"; done
find_cert() { # SUBJECT_CN ISSUER_CN -> file name
  local f
  for f in cacert[1-5].pem; do
    if openssl x509 -in "$f" -noout -subject -nameopt multiline | grep -q "commonName *= $1\$" &&
      openssl x509 -in "$f" -noout -issuer -nameopt multiline | grep -q "commonName *= $2\$"; then
      echo "$f"
      return
    fi
  done
  fail "cacerts holds no certificate of $1 issued by $2"
}
new_with_old=$(find_cert "est-fleet Root CA G2" "est-fleet Root CA")
old_with_new=$(find_cert "est-fleet Root CA" "est-fleet Root CA G2")
cmp -s "$(find_cert "est-fleet Root CA G2" "est-fleet Root CA G2")" new_root.pem || fail "cacerts' new root is not ca/root.pem"
cmp -s "$(find_cert "est-fleet Root CA" "est-fleet Root CA")" old_root.pem || fail "cacerts' OldWithOld is not the old root"
cmp -s "$(find_cert "est-fleet Issuing CA G2" "est-fleet Root CA G2")" new_issuing.pem || fail "cacerts' issuing CA is not the new one"
cmp -s "$new_with_old" "$DATA/ca/previous/new_with_old.pem" || fail "NewWithOld differs from ca/previous/new_with_old.pem"
[[ $(openssl x509 -in "$new_with_old" -noout -pubkey) == $(openssl x509 -in new_root.pem -noout -pubkey) ]] ||
  fail "NewWithOld does not carry the new root's public key"
[[ $(openssl x509 -in "$old_with_new" -noout -pubkey) == $(openssl x509 -in old_root.pem -noout -pubkey) ]] ||
  fail "OldWithNew does not carry the old root's public key"
openssl verify -trusted old_root.pem "$new_with_old" >verify.txt 2>&1 || fail "NewWithOld does not verify with the old root: $(cat verify.txt)"
openssl verify -trusted new_root.pem "$new_with_old" >/dev/null 2>&1 && fail "NewWithOld verifies with the new root"
openssl verify -trusted new_root.pem "$old_with_new" >verify.txt 2>&1 || fail "OldWithNew does not verify with the new root: $(cat verify.txt)"
openssl verify -trusted new_root.pem new_issuing.pem >/dev/null || fail "the new issuing CA does not verify with the new root"
openssl verify -trusted old_root.pem -untrusted "$new_with_old" new_issuing.pem >verify.txt 2>&1 ||
  fail "the new chain does not verify with the old root through NewWithOld: $(cat verify.txt)"
openssl verify -trusted old_root.pem new_issuing.pem >/dev/null 2>&1 && fail "the new chain verifies with the old root without NewWithOld"
pass "cacerts: new issuing CA, new root, OldWithNew, NewWithOld, old root; each link verified with openssl"

# A device holding the old root fetches an anchor file: the old root and the new one that
# NewWithOld vouches for, never an issuing CA or a link.
est_client cacerts --server "$URL" --ca-file old_root.pem --out roots.pem --chain-out chain5.pem \
  >cacerts_out.txt 2>&1 || fail "cacerts --out after the rollover: $(cat cacerts_out.txt)"
[[ $(cert_count roots.pem) -eq 2 ]] || fail "cacerts --out holds $(cert_count roots.pem) certificates, not 2 roots"
cat old_root.pem new_root.pem | cmp -s - roots.pem || fail "cacerts --out is not the old root, then the new root"
[[ $(cert_count chain5.pem) -eq 5 ]] || fail "cacerts --chain-out holds $(cert_count chain5.pem) certificates, not 5"
pass "cacerts --out after the rollover: the old root and the new one (through NewWithOld); --chain-out all five"

# --- the TLS chain: only the old root, only the new root ----------------------------------------
expect_status 200 "cacerts trusting only the new root" -- --cacert new_root.pem "$URL/.well-known/est/cacerts"
openssl s_client -connect "127.0.0.1:$PORT" -servername localhost -CAfile old_root.pem -verify_return_error \
  -verify_hostname localhost </dev/null >s_client.txt 2>&1 || fail "s_client with the old root: $(tail -5 s_client.txt)"
grep -q 'Verify return code: 0 (ok)' s_client.txt || fail "s_client with the old root: $(grep Verify s_client.txt)"
openssl s_client -connect "127.0.0.1:$PORT" -servername localhost -CAfile new_root.pem -verify_return_error \
  </dev/null >s_client.txt 2>&1 || fail "s_client with the new root: $(tail -5 s_client.txt)"
pass "the TLS chain verifies with only the old root (curl, s_client) and with only the new root"

# --- a device renews: certificate from the new CA, trusts both roots -----------------------------
alpha=out/DeviceAlpha
cp "$alpha/root_ca.pem" alpha_root_before.pem
est_client renew --cert "$alpha/certificate.pem" --key "$alpha/private_key.pem" --server "$URL" \
  --ca-file old_root.pem --now >renew.txt 2>&1 || fail "renew after the rollover: $(cat renew.txt)"
grep -q 'trusts the new root CA' renew.txt || fail "renew did not report the new root: $(cat renew.txt)"
openssl x509 -in "$alpha/certificate.pem" -noout -issuer -nameopt multiline | grep -q 'commonName *= est-fleet Issuing CA G2$' ||
  fail "the renewed certificate is not from the new issuing CA: $(openssl x509 -in "$alpha/certificate.pem" -noout -issuer)"
[[ $(cert_count "$alpha/root_ca.pem") -eq 2 ]] || fail "root_ca.pem holds $(cert_count "$alpha/root_ca.pem") roots, not 2"
awk '/-----BEGIN CERTIFICATE-----/ { n++ } n == 1' "$alpha/root_ca.pem" | cmp -s - old_root.pem || fail "root_ca.pem lost the old root"
awk '/-----BEGIN CERTIFICATE-----/ { n++ } n == 2' "$alpha/root_ca.pem" | cmp -s - new_root.pem || fail "root_ca.pem's new root is not the server's"
openssl x509 -in "$alpha/certificate.pem" -out alpha.pem
openssl verify -trusted new_root.pem -untrusted cacerts.pem alpha.pem >verify.txt 2>&1 ||
  fail "the renewed certificate does not verify with the new root through cacerts: $(cat verify.txt)"
cat new_issuing.pem "$new_with_old" >new_chain_with_link.pem
openssl verify -trusted old_root.pem -untrusted new_chain_with_link.pem alpha.pem >verify.txt 2>&1 ||
  fail "a device with only the old root cannot validate the new chain through NewWithOld: $(cat verify.txt)"
openssl verify -trusted old_root.pem -untrusted new_issuing.pem alpha.pem >/dev/null 2>&1 &&
  fail "the new chain verifies with the old root without NewWithOld"
est_server certs list --data "$DATA" --thing DeviceAlpha --json >alpha.json || fail "certs list"
grep -q '"status": *"superseded"' alpha.json || fail "the old-CA certificate is not superseded: $(cat alpha.json)"
# The device now renews under its new trust: root_ca.pem alone (old + new root).
est_client renew --cert "$alpha/certificate.pem" --key "$alpha/private_key.pem" --server "$URL" \
  --ca-file "$alpha/root_ca.pem" --now >renew2.txt 2>&1 || fail "the second renewal: $(cat renew2.txt)"
grep -q 'trusts the new root' renew2.txt && fail "the second renewal learned a root again"
openssl x509 -in "$alpha/certificate.pem" -out alpha.pem  # the first new-CA one is superseded now
pass "est-client renew: new-CA certificate, root_ca.pem holds old + new root; old-root-only device validates via NewWithOld"

# --- revocation of an old-CA certificate after the rollover -------------------------------------
est_server certs revoke "$beta_serial" --reason keyCompromise --data "$DATA" >revoke.txt || fail "revoke: $(cat revoke.txt)"
openssl x509 -in out/DeviceBeta/certificate.pem -out beta.pem
openssl crl -inform DER -in "$DATA/crl/previous.der" -noout -text >prev_crl.txt || fail "crl/previous.der is no CRL"
grep -q 'Issuer: O = est-fleet, CN = est-fleet Issuing CA$' prev_crl.txt || fail "the previous CRL's issuer: $(grep Issuer prev_crl.txt)"
grep -q "Serial Number: $beta_serial" prev_crl.txt || fail "the old CA's CRL does not list $beta_serial"
openssl crl -inform DER -in "$DATA/crl/previous.der" -noout -verify -CAfile "$DATA/ca/previous/chain.pem" >/dev/null 2>&1 ||
  fail "the old CA's CRL is not signed by the old issuing CA"
openssl crl -inform DER -in "$DATA/crl/crl.der" -noout -text | grep -q "Serial Number: $beta_serial" &&
  fail "the new CA's CRL lists an old-CA certificate"
[[ $(grep -c -- '-----BEGIN X509 CRL-----' "$DATA/crl/crl.pem") -eq 2 ]] || fail "crl.pem does not hold both CRLs"
cat old_issuing.pem old_root.pem >old_chain.pem
openssl verify -crl_check -CRLfile "$DATA/crl/crl.pem" -CAfile old_chain.pem beta.pem >verify.txt 2>&1 &&
  fail "the revoked old-CA certificate verifies with crl.pem"
grep -q 'certificate revoked' verify.txt || fail "verify with crl.pem: $(cat verify.txt)"
cat new_issuing.pem new_root.pem >new_chain.pem
openssl verify -crl_check -CRLfile "$DATA/crl/crl.pem" -CAfile new_chain.pem alpha.pem >verify.txt 2>&1 ||
  fail "the new-CA certificate does not verify against crl.pem: $(cat verify.txt)"
expect_status 200 "GET /crl/previous" -- --cacert old_root.pem "$URL/crl/previous"
cmp -s "$WORK/body" "$DATA/crl/previous.der" || fail "GET /crl/previous differs from crl/previous.der"
openssl ocsp -issuer old_issuing.pem -cert beta.pem -url "$URL/ocsp" -CAfile old_root.pem \
  -verify_other old_issuing.pem >ocsp.txt 2>&1 || fail "openssl ocsp for the old CA: $(cat ocsp.txt)"
grep -q 'beta.pem: revoked' ocsp.txt || fail "OCSP does not say the old-CA certificate is revoked: $(cat ocsp.txt)"
grep -q 'Response verify OK' ocsp.txt || fail "the old CA's OCSP answer does not verify with the old root: $(cat ocsp.txt)"
openssl ocsp -issuer new_issuing.pem -cert alpha.pem -url "$URL/ocsp" -CAfile new_root.pem >ocsp.txt 2>&1 ||
  fail "openssl ocsp for the new CA: $(cat ocsp.txt)"
grep -q 'alpha.pem: good' ocsp.txt || fail "OCSP for the new-CA certificate: $(cat ocsp.txt)"
grep -q 'Response verify OK' ocsp.txt || fail "the new CA's OCSP answer does not verify: $(cat ocsp.txt)"
pass "an old-CA certificate revoked after the rollover: old CA's CRL (file, crl.pem, GET /crl/previous) and OCSP"

# --- a second rollover during the transition ----------------------------------------------------
# The server is stopped first: its CRL schedule (after the renewals above) writes crl/ on its own.
kill -TERM "$SERVER_PID"
wait "$SERVER_PID" || true
SERVER_PID=
before=$(tree_sum)
expect_exit 1 "a second rollover during the transition" -- est_server ca rollover --data "$DATA"
grep -q 'a CA rollover is still in progress' "$WORK/err" || fail "second rollover message: $(cat "$WORK/err")"
grep -q 'Pass --force' "$WORK/err" || fail "the refusal does not name --force: $(cat "$WORK/err")"
[[ $(tree_sum) == "$before" ]] || fail "the refused second rollover changed the data folder"
est_server ca rollover --data "$DATA" --force >rollover2.txt 2>&1 || fail "forced rollover: $(cat rollover2.txt)"
grep -q 'dropped the previous CA CN=est-fleet Issuing CA,O=est-fleet before its transition ended' rollover2.txt ||
  fail "the forced rollover does not say what it dropped: $(cat rollover2.txt)"
grep -q 'CN=est-fleet Root CA G3' rollover2.txt || fail "the third generation: $(cat rollover2.txt)"
cmp -s new_root.pem "$DATA/ca/previous/root.pem" || fail "after --force, ca/previous is not the G2 root"
ls -d "$DATA"/rolled-over-* >/dev/null || fail "no rolled-over-* backup"
pass "a second rollover is refused during the transition and nothing changes; --force rolls to G3"

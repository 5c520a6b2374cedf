#!/usr/bin/env bash
# est-client against the real est-server: cacerts -> enroll -> reenroll, checked with openssl.
source "$(dirname "$0")/lib.sh"
init_data
start_server
cd "$WORK"
ca=(--server "$URL" --ca-file "$DATA/ca/root.pem")

"$EST_CLIENT" cacerts "${ca[@]}" --out chain.pem >/dev/null || fail "cacerts with --ca-file"
[[ $(grep -c 'BEGIN CERTIFICATE' chain.pem) -eq 2 ]] || fail "cacerts should hold issuing CA and root"
pass "cacerts with a trust anchor"

"$EST_CLIENT" cacerts --server "$URL" --trust-fingerprint "$FINGERPRINT" --out boot.pem >/dev/null ||
  fail "cacerts with the right fingerprint"
cmp -s chain.pem boot.pem || fail "bootstrap chain differs"
if "$EST_CLIENT" cacerts --server "$URL" --trust-fingerprint "$(printf '%064d' 0)" --out wrong.pem 2>err; then
  fail "a wrong fingerprint was accepted"
fi
[[ ! -e wrong.pem ]] || fail "a wrong fingerprint still wrote the chain"
grep -q 'does not match' err || fail "wrong fingerprint message: $(cat err)"
pass "bootstrap trust by fingerprint, and its refusal"

"$EST_CLIENT" csrattrs "${ca[@]}" | grep -q prime256v1 || fail "csrattrs"
pass "csrattrs"

"$EST_CLIENT" enroll "${ca[@]}" --cn dev-1 --user alice --password-file "$WORK/password" \
  --key-out dev1.key --cert-out dev1.pem >/dev/null || fail "enroll dev-1"
openssl verify -CAfile "$DATA/ca/root.pem" -untrusted chain.pem dev1.pem >/dev/null || fail "dev-1 does not verify"
[[ $(stat -c %a dev1.key) == 600 ]] || fail "key mode is $(stat -c %a dev1.key)"
openssl x509 -in dev1.pem -noout -subject | grep -q 'CN *= *dev-1' || fail "dev-1 subject"
pass "enroll, verified by openssl, key 0600"

EST_PASSWORD=$PASSWORD "$EST_CLIENT" enroll "${ca[@]}" --cn dev-pop --user alice --pop \
  --key-type ed25519 --key-out pop.key --cert-out pop.pem >/dev/null || fail "enroll with --pop"
openssl verify -CAfile "$DATA/ca/root.pem" -untrusted chain.pem pop.pem >/dev/null || fail "pop cert"
pass "enroll with proof of possession (password from EST_PASSWORD, Ed25519)"

if "$EST_CLIENT" enroll "${ca[@]}" --cn dev-1 --user alice --password-file "$WORK/password" \
  --key-out again.key --cert-out again.pem 2>err; then
  fail "a second initial enrollment took over dev-1"
fi
grep -q '409' err || fail "takeover refusal: $(cat err)"
[[ ! -e again.key ]] || fail "a refused enrollment wrote a key"
pass "a ThingName with an active certificate cannot be taken over"

"$EST_CLIENT" enroll "${ca[@]}" --cn dev-nested --user alice --password-file "$WORK/password" \
  --key-out out/dev-nested/private_key.pem --cert-out out/dev-nested/certificate.pem >/dev/null ||
  fail "enroll into a folder that does not exist yet"
mkdir in-the-way
"$EST_CLIENT" enroll "${ca[@]}" --cn dev-blocked --user alice --password-file "$WORK/password" \
  --key-out in-the-way --cert-out blocked.pem 2>err && fail "enrolled with nowhere to put the key"
grep -q 'is a folder' err || fail "unwritable output message: $(cat err)"
"$EST_CLIENT" enroll "${ca[@]}" --cn dev-blocked --user alice --password-file "$WORK/password" \
  --key-out blocked.key --cert-out blocked.pem >/dev/null ||
  fail "the refused attempt left dev-blocked registered on the server"
pass "output folders are created; an unusable output is refused before the server issues anything"

printf 'wrong-password\n' >bad
"$EST_CLIENT" enroll "${ca[@]}" --cn dev-2 --user alice --password-file bad --key-out x.key \
  --cert-out x.pem 2>err && fail "a wrong password was accepted"
grep -q '401' err || fail "wrong password message: $(cat err)"
"$EST_CLIENT" enroll "${ca[@]}" --cn 'bad/name' --user alice --password-file "$WORK/password" \
  --key-out x.key --cert-out x.pem 2>err && fail "an invalid ThingName was accepted"
grep -q '400' err || fail "bad name message: $(cat err)"
pass "wrong password and invalid ThingName refused"

"$EST_CLIENT" reenroll "${ca[@]}" --cert dev1.pem --key dev1.key --key-out dev1b.key \
  --cert-out dev1b.pem >/dev/null || fail "reenroll"
openssl verify -CAfile "$DATA/ca/root.pem" -untrusted chain.pem dev1b.pem >/dev/null || fail "renewed cert"
[[ $(openssl x509 -in dev1.pem -noout -subject) == "$(openssl x509 -in dev1b.pem -noout -subject)" ]] ||
  fail "renewed subject differs"
[[ $(openssl pkey -in dev1.key -pubout) != "$(openssl pkey -in dev1b.key -pubout)" ]] ||
  fail "reenroll without --keep-key kept the key"
pass "reenroll with a new key"

"$EST_CLIENT" reenroll "${ca[@]}" --cert dev1b.pem --key dev1b.key --keep-key --pop \
  --key-out dev1c.key --cert-out dev1c.pem >/dev/null || fail "reenroll --keep-key"
[[ $(openssl pkey -in dev1b.key -pubout) == "$(openssl pkey -in dev1c.key -pubout)" ]] ||
  fail "--keep-key changed the key"
pass "reenroll --keep-key keeps the public key"

"$EST_CLIENT" reenroll "${ca[@]}" --cert dev1.pem --key dev1.key --key-out y.key \
  --cert-out y.pem 2>err && fail "a superseded certificate renewed again"
grep -q '403' err || fail "superseded message: $(cat err)"
pass "a superseded certificate cannot renew"

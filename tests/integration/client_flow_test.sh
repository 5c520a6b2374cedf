#!/usr/bin/env bash
# est-client against the real est-server: cacerts -> enroll -> reenroll, checked with openssl.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"
init_data
start_server
cd "$WORK"
ca=(--server "$URL" --ca-file "$DATA/ca/root.pem")
creds=(--user alice --password-file "$WORK/password")

# --out is a trust anchor file: the root only. The chain (issuing CA too) goes to --chain-out.
est_client cacerts "${ca[@]}" --out root.pem --chain-out chain.pem >/dev/null || fail "cacerts with --ca-file"
cmp -s root.pem "$DATA/ca/root.pem" || fail "cacerts --out does not hold exactly the root"
[[ $(cert_count chain.pem) -eq 2 ]] || fail "cacerts --chain-out should hold issuing CA and root"
grep -qxF "$(sed -n 2p "$DATA/ca/issuing.pem")" chain.pem || fail "cacerts --chain-out does not hold the issuing CA"
est_client cacerts "${ca[@]}" >stdout.pem || fail "cacerts to stdout"
cmp -s stdout.pem chain.pem || fail "cacerts without --out prints another chain than --chain-out"
pass "cacerts with a trust anchor: --out the root, --chain-out and stdout the chain"

est_client cacerts --server "$URL" --trust-fingerprint "$FINGERPRINT" --out boot.pem \
  --chain-out boot-chain.pem >/dev/null || fail "cacerts with the right fingerprint"
cmp -s boot.pem "$DATA/ca/root.pem" || fail "bootstrap --out is not the pinned root"
cmp -s chain.pem boot-chain.pem || fail "bootstrap chain differs"
expect_exit 1 "a wrong fingerprint" -- \
  est_client cacerts --server "$URL" --trust-fingerprint "$(printf '%064d' 0)" --out wrong.pem
[[ ! -e wrong.pem ]] || fail "a wrong fingerprint still wrote the chain"
grep -q 'does not match' "$WORK/err" || fail "wrong fingerprint message: $(cat "$WORK/err")"
pass "bootstrap trust by fingerprint (--out the pinned root), and its refusal (exit 1, nothing written)"

# An anchor file with no root (the issuing CA alone) is a usage error; the chain as an anchor
# file counts its root only.
expect_exit 2 "the issuing CA as the only anchor" -- \
  est_client cacerts --server "$URL" --ca-file "$DATA/ca/issuing.pem"
grep -q 'holds no self-signed root' "$WORK/err" || fail "anchor without a root: $(cat "$WORK/err")"
est_client cacerts --server "$URL" --ca-file chain.pem --out from-chain.pem >/dev/null ||
  fail "cacerts with the chain as the anchor file"
cmp -s from-chain.pem "$DATA/ca/root.pem" || fail "an anchor file holding the chain passed on its issuing CA"
pass "anchor files count their self-signed roots only"

est_client csrattrs "${ca[@]}" | grep -q prime256v1 || fail "csrattrs"
pass "csrattrs"

est_client enroll "${ca[@]}" --cn dev-1 "${creds[@]}" --key-out dev1.key --cert-out dev1.pem >/dev/null ||
  fail "enroll dev-1"
openssl verify -CAfile "$DATA/ca/root.pem" -untrusted chain.pem dev1.pem >/dev/null || fail "dev-1 does not verify"
[[ $(stat -c %a dev1.key) == 600 ]] || fail "key mode is $(stat -c %a dev1.key)"
openssl x509 -in dev1.pem -noout -subject | grep -q 'CN *= *dev-1' || fail "dev-1 subject"
[[ $(openssl x509 -in dev1.pem -noout -pubkey) == "$(openssl pkey -in dev1.key -pubout)" ]] ||
  fail "dev-1's certificate does not hold the key written to dev1.key"
pass "enroll, verified by openssl, key 0600 and matching the certificate"

# One file named twice would end up holding only what was written last: the new key is lost.
# Refused after resolving the names (./x, links), before anything is sent: exit 2.
expect_exit 2 "enroll --key-out X --cert-out ./X" -- \
  est_client enroll "${ca[@]}" --cn dev-same "${creds[@]}" --key-out same.pem --cert-out ./same.pem
grep -q -- '--key-out and --cert-out name the same file' "$WORK/err" ||
  fail "same-file message: $(cat "$WORK/err")"
ln -s same-target.pem same-link.pem
expect_exit 2 "enroll --key-out through a link to --cert-out" -- \
  est_client enroll "${ca[@]}" --cn dev-same "${creds[@]}" --key-out same-link.pem --cert-out same-target.pem
expect_exit 2 "enroll --key F --cert-out F" -- \
  est_client enroll "${ca[@]}" --cn dev-same "${creds[@]}" --key dev1.key --key-out dev-same.key --cert-out dev1.key
[[ ! -e same.pem && ! -e same-target.pem && ! -e dev-same.key ]] || fail "a refused enrollment wrote a file"
openssl pkey -in dev1.key -noout || fail "a refused enrollment damaged the key it was given"
est_server certs list --data "$DATA" --thing dev-same | grep -q dev-same && fail "dev-same was enrolled"
expect_exit 2 "reenroll --key-out X --cert-out X" -- \
  est_client reenroll "${ca[@]}" --cert dev1.pem --key dev1.key --key-out dev1x.pem --cert-out "$WORK/dev1x.pem"
grep -q -- '--key-out and --cert-out name the same file' "$WORK/err" ||
  fail "same-file message: $(cat "$WORK/err")"
[[ ! -e dev1x.pem ]] || fail "a refused renewal wrote a file"
pass "one file named twice (./x, a link, an input) is refused before anything is sent (exit 2)"

EST_PASSWORD=$PASSWORD est_client enroll "${ca[@]}" --cn dev-pop --user alice --pop \
  --key-type ed25519 --key-out pop.key --cert-out pop.pem >/dev/null || fail "enroll with --pop"
openssl verify -CAfile "$DATA/ca/root.pem" -untrusted chain.pem pop.pem >/dev/null || fail "pop cert"
pass "enroll with proof of possession (password from EST_PASSWORD, Ed25519)"

expect_exit 1 "a second initial enrollment of dev-1" -- \
  est_client enroll "${ca[@]}" --cn dev-1 "${creds[@]}" --key-out again.key --cert-out again.pem
grep -q '409' "$WORK/err" || fail "takeover refusal: $(cat "$WORK/err")"
[[ ! -e again.key ]] || fail "a refused enrollment wrote a key"
pass "a ThingName with an active certificate cannot be taken over (exit 1)"

est_client enroll "${ca[@]}" --cn dev-nested "${creds[@]}" \
  --key-out out/dev-nested/private_key.pem --cert-out out/dev-nested/certificate.pem >/dev/null ||
  fail "enroll into a folder that does not exist yet"
mkdir in-the-way
expect_exit 1 "nowhere to put the key" -- \
  est_client enroll "${ca[@]}" --cn dev-blocked "${creds[@]}" --key-out in-the-way --cert-out blocked.pem
grep -q 'is a folder' "$WORK/err" || fail "unwritable output message: $(cat "$WORK/err")"
est_client enroll "${ca[@]}" --cn dev-blocked "${creds[@]}" --key-out blocked.key --cert-out blocked.pem >/dev/null ||
  fail "the refused attempt left dev-blocked registered on the server"
pass "output folders are created; an unusable output is refused before the server issues anything"

printf 'wrong-password\n' >bad
expect_exit 1 "a wrong password" -- \
  est_client enroll "${ca[@]}" --cn dev-2 --user alice --password-file bad --key-out x.key --cert-out x.pem
grep -q '401' "$WORK/err" || fail "wrong password message: $(cat "$WORK/err")"
expect_exit 1 "an invalid ThingName" -- \
  est_client enroll "${ca[@]}" --cn 'bad/name' "${creds[@]}" --key-out x.key --cert-out x.pem
[[ -s $WORK/err ]] || fail "an invalid ThingName was refused without a reason"
[[ ! -e x.pem ]] || fail "a refused enrollment wrote a certificate"
pass "wrong password and invalid ThingName refused (exit 1)"

est_client reenroll "${ca[@]}" --cert dev1.pem --key dev1.key --key-out dev1b.key \
  --cert-out dev1b.pem >/dev/null || fail "reenroll"
openssl verify -CAfile "$DATA/ca/root.pem" -untrusted chain.pem dev1b.pem >/dev/null || fail "renewed cert"
[[ $(openssl x509 -in dev1.pem -noout -subject) == "$(openssl x509 -in dev1b.pem -noout -subject)" ]] ||
  fail "renewed subject differs"
[[ $(openssl x509 -in dev1.pem -noout -serial) != "$(openssl x509 -in dev1b.pem -noout -serial)" ]] ||
  fail "the renewed certificate kept the old serial"
[[ $(openssl pkey -in dev1.key -pubout) != "$(openssl pkey -in dev1b.key -pubout)" ]] ||
  fail "reenroll without --keep-key kept the key"
pass "reenroll with a new key"

est_client reenroll "${ca[@]}" --cert dev1b.pem --key dev1b.key --keep-key --pop \
  --key-out dev1c.key --cert-out dev1c.pem >/dev/null || fail "reenroll --keep-key"
[[ $(openssl pkey -in dev1b.key -pubout) == "$(openssl pkey -in dev1c.key -pubout)" ]] ||
  fail "--keep-key changed the key"
[[ $(openssl x509 -in dev1c.pem -noout -pubkey) == "$(openssl pkey -in dev1b.key -pubout)" ]] ||
  fail "--keep-key: the certificate does not hold the kept key"
pass "reenroll --keep-key keeps the public key"

expect_exit 1 "renewing a superseded certificate" -- \
  est_client reenroll "${ca[@]}" --cert dev1.pem --key dev1.key --key-out y.key --cert-out y.pem
grep -q '403' "$WORK/err" || fail "superseded message: $(cat "$WORK/err")"
pass "a superseded certificate cannot renew"

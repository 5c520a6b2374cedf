#!/usr/bin/env bash
# The issuing CA key in a PKCS#11 token (SoftHSM2, a fresh token in this test's folder):
# init --pkcs11 generates it inside the token (sensitive, never extractable, no key file), serve
# signs with it through OpenSSL's pkcs11 engine, est-client enrolls and openssl verifies the
# certificate against the root; revocation signs the CRL in the token; the PIN comes from
# ca.pin_file or EST_PKCS11_PIN and a wrong or missing one stops the server naming the token.
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"
cd "$WORK"

MODULE=/usr/lib/softhsm/libsofthsm2.so
[[ -r $MODULE ]] || fail "SoftHSM2 is not installed ($MODULE; scripts/install-deps.sh installs softhsm2)"
export SOFTHSM2_CONF=$WORK/softhsm2.conf
mkdir -p "$WORK/tokens"
printf 'directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\n' \
  "$WORK/tokens" >"$SOFTHSM2_CONF"
PIN=it-user-4242
softhsm2-util --init-token --free --label est-it --pin "$PIN" --so-pin it-so-9191 >/dev/null ||
  fail "softhsm2-util could not initialise a token"
printf '%s\n' "$PIN" >"$WORK/pin"
chmod 600 "$WORK/pin"
URI='pkcs11:token=est-it;object=issuing-ca'

# A PIN file that others can read is refused before anything is generated.
chmod 644 "$WORK/pin"
expect_exit 1 "init with a world-readable PIN file" -- \
  est_server init --data "$DATA" --pkcs11 "$URI" --pin-file "$WORK/pin"
grep -q "readable by group or others" "$WORK/err" || fail "no word on the PIN file's mode: $(cat "$WORK/err")"
chmod 600 "$WORK/pin"
expect_exit 1 "init --pkcs11 with a PIN in the URI" -- \
  est_server init --data "$WORK/other" --pkcs11 "$URI?pin-value=$PIN"
grep -q "carries a PIN" "$WORK/err" || fail "pin-value in the URI: $(cat "$WORK/err")"

output=$(est_server init --data "$DATA" --pkcs11 "$URI" --pin-file "$WORK/pin") ||
  fail "init --pkcs11 failed"
grep -q "^issuing CA key generated inside the token: pkcs11:token=est-it;object=issuing-ca;id=" \
  <<<"$output" || fail "init did not print the token key's URI: $output"
FINGERPRINT=$(sed -n 's/^root CA SHA-256 fingerprint: \([0-9a-f]\{64\}\)$/\1/p' <<<"$output")
[[ ${#FINGERPRINT} -eq 64 ]] || fail "init printed no fingerprint: $output"
[[ ! -e $DATA/ca/issuing.key ]] || fail "init --pkcs11 wrote ca/issuing.key"
grep -q '^key = "pkcs11:token=est-it;object=issuing-ca;id=' "$DATA/est-server.toml" ||
  fail "est-server.toml's ca.key is not the token key"
grep -q "^pin_file = \"$WORK/pin\"" "$DATA/est-server.toml" || fail "est-server.toml has no ca.pin_file"
pass "init --pkcs11 generated the issuing key in the token and wrote no key file"

# What the token itself says (OpenSC's pkcs11-tool, independent of our code): one private key,
# sensitive and never extractable, whose public half is the issuing CA certificate's.
if command -v pkcs11-tool >/dev/null; then
  pkcs11-tool --module "$MODULE" --token-label est-it --login --pin "$PIN" -O >objects.txt 2>&1 ||
    fail "pkcs11-tool could not list the token: $(cat objects.txt)"
  [[ $(grep -c '^Private Key Object' objects.txt) == 1 ]] || fail "not one private key: $(cat objects.txt)"
  grep -A8 '^Private Key Object' objects.txt | grep 'Access:' | grep -q 'never extractable' ||
    fail "the private key is not never-extractable: $(cat objects.txt)"
  grep -A8 '^Private Key Object' objects.txt | grep 'Access:' | grep -q 'sensitive' ||
    fail "the private key is not sensitive: $(cat objects.txt)"
  pkcs11-tool --module "$MODULE" --token-label est-it --read-object --type pubkey \
    --label issuing-ca -o token-pub.der >/dev/null 2>&1 || fail "pkcs11-tool could not read the public key"
  openssl pkey -pubin -inform DER -in token-pub.der -outform DER -out token-pub.spki 2>/dev/null ||
    fail "the token's public key does not parse"
  openssl x509 -in "$DATA/ca/issuing.pem" -noout -pubkey | openssl pkey -pubin -outform DER \
    -out cert-pub.spki
  cmp -s token-pub.spki cert-pub.spki || fail "the issuing CA certificate is not for the token's key"
  pass "the token holds one sensitive, never-extractable key, the issuing CA certificate's"
fi

printf '%s\n' "$PASSWORD" >"$WORK/password"
est_server user add alice --data "$DATA" --password-file "$WORK/password" >/dev/null ||
  fail "user add alice failed"
start_server
CA=$DATA/ca/root.pem
CHAIN=$DATA/ca/chain.pem
est_client enroll --server "$URL" --ca-file "$CA" --cn hsm-dev1 --user alice \
  --password-file "$WORK/password" --key-out dev1.key --cert-out dev1.pem >/dev/null 2>"$WORK/err" ||
  fail "enroll through the token-held CA key: $(cat "$WORK/err")"
openssl verify -CAfile "$CA" -untrusted "$CHAIN" dev1.pem >verify.txt 2>&1 ||
  fail "openssl verify: $(cat verify.txt)"
pass "enrolled; the certificate signed in the token verifies against the root"
est_client reenroll --server "$URL" --ca-file "$CA" --cert dev1.pem --key dev1.key \
  --key-out dev1b.key --cert-out dev1b.pem >/dev/null 2>"$WORK/err" || fail "reenroll: $(cat "$WORK/err")"
openssl verify -CAfile "$CA" -untrusted "$CHAIN" dev1b.pem >/dev/null 2>&1 || fail "renewed certificate"
pass "re-enrolled through the token"
if grep -qF "$PIN" "$WORK/server.log"; then fail "the PIN appears in the server log"; fi
if tr '\0' ' ' <"/proc/$SERVER_PID/cmdline" | grep -qF "$PIN"; then fail "the PIN is in argv"; fi

# Revocation: the CRL is signed by the token's key.
serial=$(openssl x509 -in dev1b.pem -noout -serial | cut -d= -f2)
est_server certs revoke "$serial" --data "$DATA" >/dev/null 2>"$WORK/err" || fail "revoke: $(cat "$WORK/err")"
expect_status 200 "GET /crl" -- --cacert "$CA" "$URL/crl"
openssl crl -inform DER -in "$WORK/body" -noout -CAfile "$CHAIN" 2>&1 | grep -q 'verify OK' ||
  fail "the CRL does not verify against the issuing CA"
openssl crl -inform DER -in "$WORK/body" -noout -text | grep -qi "Serial Number: $serial" ||
  fail "the CRL does not list the revoked certificate"
pass "the CRL signed in the token verifies and lists the revoked certificate"
kill -TERM "$SERVER_PID"
wait "$SERVER_PID" 2>/dev/null || true
SERVER_PID=

# The PIN from the environment instead of a file; a wrong or missing PIN names the token.
sed -i '/^pin_file = /d' "$DATA/est-server.toml"
expect_exit 1 "serve without a PIN" -- env -u EST_PKCS11_PIN "$EST_SERVER" serve --data "$DATA" \
  --listen 127.0.0.1:0
grep -q "no PIN was given: set ca.pin_file or the environment variable EST_PKCS11_PIN" "$WORK/err" ||
  fail "serve without a PIN: $(cat "$WORK/err")"
expect_exit 1 "serve with a wrong PIN" -- env EST_PKCS11_PIN=wrong-pin "$EST_SERVER" serve \
  --data "$DATA" --listen 127.0.0.1:0
grep -q "the PIN for PKCS#11 token 'est-it' is wrong" "$WORK/err" ||
  fail "serve with a wrong PIN: $(cat "$WORK/err")"
if grep -qF "wrong-pin" "$WORK/err"; then fail "the wrong PIN is echoed"; fi
sed -i 's/^key = "pkcs11:token=est-it;object=issuing-ca;/key = "pkcs11:token=est-it;object=missing;/' \
  "$DATA/est-server.toml"
expect_exit 1 "serve with a missing key" -- env EST_PKCS11_PIN="$PIN" "$EST_SERVER" serve \
  --data "$DATA" --listen 127.0.0.1:0
grep -q "PKCS#11 token 'est-it' holds no private key" "$WORK/err" ||
  fail "serve with a missing key object: $(cat "$WORK/err")"
sed -i 's/^key = "pkcs11:token=est-it;object=missing;/key = "pkcs11:token=est-it;object=issuing-ca;/' \
  "$DATA/est-server.toml"
pass "a missing PIN, a wrong PIN and a missing key stop the server, naming the token"

EST_PKCS11_PIN=$PIN start_server
est_client enroll --server "$URL" --ca-file "$CA" --cn hsm-dev2 --user alice \
  --password-file "$WORK/password" --key-out dev2.key --cert-out dev2.pem >/dev/null 2>"$WORK/err" ||
  fail "enroll with the PIN from EST_PKCS11_PIN: $(cat "$WORK/err")"
openssl verify -CAfile "$CA" -untrusted "$CHAIN" dev2.pem >/dev/null 2>&1 || fail "dev2 does not verify"
pass "serve with the PIN from EST_PKCS11_PIN"

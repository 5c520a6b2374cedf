#!/usr/bin/env bash
# Labelled enrollment profiles: one that requires proof of possession, and one that admits
# devices by a manufacturer (IDevID) certificate instead of a password.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"
init_data
cd "$WORK"

# A manufacturer CA that is not est-fleet's, and one device certificate from it.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout maker.key \
  -subj /CN=Maker-Root -days 2 -addext basicConstraints=critical,CA:TRUE \
  -addext keyUsage=critical,keyCertSign -out maker.pem 2>/dev/null
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout idev.key \
  -subj /CN=idev-7 -out idev.csr 2>/dev/null
openssl x509 -req -in idev.csr -CA maker.pem -CAkey maker.key -CAcreateserial -days 1 \
  -out idev.pem 2>/dev/null
mkdir -p "$DATA/bootstrap" && cp maker.pem "$DATA/bootstrap/maker.pem"

cat >>"$DATA/est-server.toml" <<'TOML'

[profiles.pop]
auth = ["basic"]
require_pop = true

[profiles.factory]
auth = ["tls-client"]
bootstrap_trust = "bootstrap/maker.pem"
validity = "1h"
TOML
start_server
ca=(--server "$URL" --ca-file "$DATA/ca/root.pem")
creds=(--user alice --password-file "$WORK/password")

est_client csrattrs "${ca[@]}" --label pop | grep -q challengePassword ||
  fail "csrattrs of a PoP profile does not ask for challengePassword"
est_client csrattrs "${ca[@]}" | grep -q challengePassword &&
  fail "csrattrs of the default profile asks for challengePassword"
pass "csrattrs lists challengePassword exactly where PoP is required"

est_client enroll "${ca[@]}" "${creds[@]}" --label pop --cn no-pop --key-out a.key \
  --cert-out a.pem 2>err && fail "a CSR without PoP passed a require_pop profile"
grep -q '400' err || fail "missing PoP message: $(cat err)"
est_client enroll "${ca[@]}" "${creds[@]}" --label pop --pop --cn with-pop --key-out b.key \
  --cert-out b.pem >/dev/null || fail "enroll with PoP on the pop profile"
pass "require_pop: refused without the channel binding, issued with it"

# PoP replay: a CSR whose challengePassword holds some other connection's binding.
printf '[req]\ndistinguished_name=dn\nattributes=attrs\nprompt=no\n[dn]\nCN=replayed\n[attrs]\nchallengePassword=%s\n' \
  "$(head -c 32 /dev/urandom | base64)" >replay.cnf
openssl req -new -key b.key -config replay.cnf -outform DER 2>/dev/null | base64 >replay.b64
expect_refusal 403 "replayed PoP" -- --cacert "$DATA/ca/root.pem" -u "alice:$PASSWORD" \
  -H 'Content-Type: application/pkcs10' --data-binary @replay.b64 "$URL/.well-known/est/pop/simpleenroll"
pass "a challengePassword from another connection is refused (403)"

openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout dev.key \
  -subj /CN=idev-7 -outform DER 2>/dev/null | base64 >dev.b64
factory=$URL/.well-known/est/factory/simpleenroll
expect_status 200 "enroll with the IDevID" -- --cacert "$DATA/ca/root.pem" --cert idev.pem \
  --key idev.key -H 'Content-Type: application/pkcs10' --data-binary @dev.b64 "$factory"
base64 -d "$WORK/body" | openssl pkcs7 -inform DER -print_certs | openssl x509 -noout -subject |
  grep -q 'CN *= *idev-7' || fail "IDevID enrollment subject"
expect_refusal 403 "no IDevID" -- --cacert "$DATA/ca/root.pem" -u "alice:$PASSWORD" \
  -H 'Content-Type: application/pkcs10' --data-binary @dev.b64 "$factory"
est_client enroll "${ca[@]}" "${creds[@]}" --cn est-issued --key-out c.key --cert-out c.pem >/dev/null ||
  fail "enroll on the default profile"
expect_refusal 403 "an est-fleet certificate is not a bootstrap certificate" -- \
  --cacert "$DATA/ca/root.pem" --cert c.pem --key c.key -H 'Content-Type: application/pkcs10' \
  --data-binary @dev.b64 "$factory"
pass "tls-client profile: the manufacturer certificate admits, a password or another CA does not"

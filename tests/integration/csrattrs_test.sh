#!/usr/bin/env bash
# csrattrs per profile (RFC 9908): the template the server announces, est-client following it,
# and enforce_csrattrs refusing CSRs that do not (400 naming the attribute), with curl + openssl.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"
init_data
cat >>"$DATA/est-server.toml" <<'TOML'

[profiles.strict]
enforce_csrattrs = true
[profiles.strict.csrattrs]
key_type = "ec-p384"
subject = ["O=Acme Sensors"]

[profiles.san]
enforce_csrattrs = true
[profiles.san.csrattrs]
subject = ["OU"]
extensions = ["subjectAltName"]
TOML
start_server
cd "$WORK"
EST=https://127.0.0.1:$PORT/.well-known/est
tls=(--cacert "$DATA/ca/root.pem")
auth=(-u "alice:$PASSWORD")
pkcs10=(-H 'Content-Type: application/pkcs10')
client=(--server "$URL" --ca-file "$DATA/ca/root.pem")

# The announcement: the RFC 9908 template with the subject and key, readable by openssl.
expect_status 200 "csrattrs strict" -- "${tls[@]}" "$EST/strict/csrattrs"
base64 -d body | openssl asn1parse -inform DER >strict.txt || fail "csrattrs is not DER"
grep -q "1.2.840.113549.1.9.16.2.61" strict.txt || fail "no certificationRequestInfoTemplate: $(cat strict.txt)"
grep -q "Acme Sensors" strict.txt || fail "the template lacks the fixed O"
grep -q "secp384r1" strict.txt || fail "the template lacks the P-384 key"
expect_exit 0 "est-client csrattrs" -- est_client csrattrs "${client[@]}" --label strict
grep -q "certificationRequestInfoTemplate" stdout || fail "est-client csrattrs: $(cat stdout)"
expect_status 200 "csrattrs san" -- "${tls[@]}" "$EST/san/csrattrs"
base64 -d body | openssl asn1parse -inform DER >san.txt
grep -q "1.2.840.113549.1.9.16.2.62" san.txt || fail "no extensionReqTemplate: $(cat san.txt)"
grep -q "X509v3 Subject Alternative Name" san.txt || fail "the extension template lacks the SAN"
pass "csrattrs: one RFC 9908 template per profile (subject, key, extensions), openssl reads it"

# est-client follows the template: a P-384 key and O = Acme Sensors, without being told.
expect_exit 0 "enroll strict" -- est_client enroll "${client[@]}" --label strict --cn follower \
  --user alice --password-file "$WORK/password" --key-out f/key.pem --cert-out f/cert.pem
openssl pkey -in f/key.pem -noout -text | grep -q "NIST CURVE: P-384" ||
  fail "est-client did not follow the key type: $(openssl pkey -in f/key.pem -noout -text | head -3)"
pass "est-client enroll follows csrattrs: P-384 key and the fixed subject attribute"
expect_exit 1 "enroll strict with p256" -- est_client enroll "${client[@]}" --label strict \
  --cn overrider --key-type ec-p256 --user alice --password-file "$WORK/password" \
  --key-out o/key.pem --cert-out o/cert.pem
grep -q "(400).*requires the key type ec-p384" err || fail "explicit --key-type: $(cat err)"
[[ ! -e o/key.pem ]] || fail "a key was written after a refusal"
pass "an explicit --key-type against the template is refused (400) and nothing is written"

csr() { # csr NAME SUBJECT KEYOPTS... -> NAME.b64
  local name=$1 subject=$2
  shift 2
  openssl req -new "$@" -nodes -keyout "$name.key" -subj "$subject" -outform DER -out "$name.der" 2>/dev/null
  base64 "$name.der" >"$name.b64"
}
post() { # post LABEL NAME STATUS WHAT
  expect_refusal "$3" "$4" -- "${tls[@]}" "${auth[@]}" "${pkcs10[@]}" --data-binary "@$2.b64" "$EST/$1/simpleenroll"
}
p256=(-newkey ec -pkeyopt ec_paramgen_curve:P-256)
p384=(-newkey ec -pkeyopt ec_paramgen_curve:P-384)
csr wrongkey "/CN=wrongkey/O=Acme Sensors" "${p256[@]}"
post strict wrongkey 400 "wrong key type"
grep -q "EC P-256, but csrattrs requires the key type ec-p384" body || fail "wrong key: $(cat body)"
csr noorg /CN=noorg "${p384[@]}"
post strict noorg 400 "missing O"
grep -q "lacks the attribute O" body || fail "missing O: $(cat body)"
csr otherorg "/CN=otherorg/O=Other" "${p384[@]}"
post strict otherorg 400 "other O"
grep -q "attribute O is 'Other', csrattrs requires 'Acme Sensors'" body || fail "other O: $(cat body)"
csr nosan "/CN=nosan/OU=lab" "${p256[@]}"
post san nosan 400 "missing SAN"
grep -q "does not request the extension subjectAltName" body || fail "missing SAN: $(cat body)"
csr noou "/CN=noou" "${p256[@]}" -addext subjectAltName=DNS:noou.example
post san noou 400 "missing OU"
grep -q "lacks the attribute OU" body || fail "missing OU: $(cat body)"
$EST_SERVER things list --data "$DATA" | grep -Eq "wrongkey|noorg|otherorg|nosan|noou" &&
  fail "a refused CSR left a thing behind"
pass "enforce_csrattrs refuses (400, naming the attribute): key type, missing or other subject value, missing extension"

csr goodorg "/CN=goodorg/O=Acme Sensors" "${p384[@]}"
expect_status 200 "strict, following" -- "${tls[@]}" "${auth[@]}" "${pkcs10[@]}" --data-binary @goodorg.b64 "$EST/strict/simpleenroll"
csr goodsan "/CN=goodsan/OU=lab" "${p256[@]}" -addext subjectAltName=DNS:goodsan.example
expect_status 200 "san, following" -- "${tls[@]}" "${auth[@]}" "${pkcs10[@]}" --data-binary @goodsan.b64 "$EST/san/simpleenroll"
csr free /CN=free "${p256[@]}"
expect_status 200 "default profile, not enforcing" -- "${tls[@]}" "${auth[@]}" "${pkcs10[@]}" --data-binary @free.b64 "$EST/simpleenroll"
pass "CSRs that follow the template are issued; a profile without enforce_csrattrs is unaffected"

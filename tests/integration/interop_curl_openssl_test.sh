#!/usr/bin/env bash
# An independent EST client: openssl makes the CSRs, curl speaks HTTP, openssl reads the answers.
# No project code runs on the client side.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"
init_data
start_server
cd "$WORK"
EST=https://127.0.0.1:$PORT/.well-known/est
tls=(--cacert "$DATA/ca/root.pem")
auth=(-u "alice:$PASSWORD")
pkcs10=(-H 'Content-Type: application/pkcs10')

new_csr() { # new_csr NAME KEYOPTS... -> NAME.key, NAME.der, NAME.b64
  local name=$1
  shift
  openssl req -new "$@" -nodes -keyout "$name.key" -subj "/CN=$name" -outform DER -out "$name.der" 2>/dev/null
  base64 "$name.der" >"$name.b64"
}

expect_status 200 cacerts -- "${tls[@]}" "$EST/cacerts"
[[ $(header_value Content-Type) == application/pkcs7-mime ]] || fail "cacerts type $(header_value Content-Type)"
expect_base64_body cacerts
decode_certs chain.pem
[[ $(cert_count chain.pem) -eq 2 ]] || fail "cacerts chain length"
grep -qxF "$(sed -n 2p "$DATA/ca/root.pem")" chain.pem || fail "cacerts does not hold the root"
pass "cacerts readable by openssl pkcs7"

expect_status '200|204' csrattrs -- "${tls[@]}" "$EST/csrattrs"
if [[ -s body ]]; then
  [[ $(header_value Content-Type) == application/csrattrs ]] || fail "csrattrs type"
  expect_base64_body csrattrs
  base64 -d body | openssl asn1parse -inform DER >attrs.txt || fail "csrattrs is not DER"
  grep -q prime256v1 attrs.txt || fail "csrattrs does not name the P-256 curve"
fi
pass "csrattrs is DER that openssl asn1parse reads"

enroll_ok() { # enroll_ok NAME BODYFILE [curl args]
  local name=$1 body=$2
  shift 2
  expect_status 200 "enroll $name" -- "${tls[@]}" "${auth[@]}" "$@" --data-binary "@$body" "$EST/simpleenroll"
  [[ $(header_value Content-Type) == 'application/pkcs7-mime; smime-type=certs-only' ]] ||
    fail "enroll type $(header_value Content-Type)"
  expect_base64_body "enroll $name"
  decode_certs "$name.pem"
  [[ $(cert_count "$name.pem") -eq 1 ]] || fail "enroll answer holds more than the issued cert"
  openssl x509 -in "$name.pem" -noout -subject | grep -qx "subject=CN *= *$name" || fail "$name subject"
  openssl verify -CAfile "$DATA/ca/root.pem" -untrusted chain.pem "$name.pem" >/dev/null || fail "$name does not verify"
}

new_csr curl-ec -newkey ec -pkeyopt ec_paramgen_curve:P-256
enroll_ok curl-ec curl-ec.b64 "${pkcs10[@]}"
pass "simpleenroll: openssl CSR, curl POST, openssl verify"

new_csr curl-pem -newkey ec -pkeyopt ec_paramgen_curve:P-384
openssl req -in curl-pem.der -inform DER -out curl-pem.csr
enroll_ok curl-pem curl-pem.csr -H 'Content-Type: application/pkcs10; charset=binary'
pass "PEM-armoured CSR with media-type parameters"

new_csr curl-rsa -newkey rsa:2048
tr -d '\n' <curl-rsa.b64 >curl-rsa.flat
enroll_ok curl-rsa curl-rsa.flat "${pkcs10[@]}" -H 'Content-Transfer-Encoding: base64'
pass "RSA-2048 CSR on one line with Content-Transfer-Encoding"

# As Go's HTTP client sends a body whose length it does not know up front.
new_csr curl-chunked -newkey ec -pkeyopt ec_paramgen_curve:P-256
enroll_ok curl-chunked curl-chunked.b64 "${pkcs10[@]}" -H 'Transfer-Encoding: chunked'
pass "simpleenroll with a chunked request body"

openssl req -new -key curl-ec.key -subj /CN=curl-ec -outform DER 2>/dev/null | base64 >renew.b64
expect_status 200 reenroll -- "${tls[@]}" --cert curl-ec.pem --key curl-ec.key "${pkcs10[@]}" \
  --data-binary @renew.b64 "$EST/simplereenroll"
[[ $(header_value Content-Type) == 'application/pkcs7-mime; smime-type=certs-only' ]] ||
  fail "reenroll type $(header_value Content-Type)"
expect_base64_body reenroll
decode_certs renewed.pem
openssl verify -CAfile "$DATA/ca/root.pem" -untrusted chain.pem renewed.pem >/dev/null || fail "renewed cert"
[[ $(openssl x509 -in renewed.pem -noout -subject) == "$(openssl x509 -in curl-ec.pem -noout -subject)" ]] ||
  fail "the renewed certificate has another subject"
pass "simplereenroll with curl --cert/--key"

openssl req -new -key curl-pem.key -subj /CN=someone-else -outform DER 2>/dev/null | base64 >other.b64
expect_refusal '400|403' "reenroll another subject" -- "${tls[@]}" --cert curl-pem.pem --key curl-pem.key \
  "${pkcs10[@]}" --data-binary @other.b64 "$EST/simplereenroll"
expect_refusal 403 "reenroll without a client certificate" -- "${tls[@]}" "${pkcs10[@]}" \
  --data-binary @other.b64 "$EST/simplereenroll"
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout other.key \
  -subj /CN=curl-ec -outform DER 2>/dev/null | base64 >other-key.b64
expect_refusal 403 "reenroll with the superseded certificate" -- "${tls[@]}" --cert curl-ec.pem \
  --key curl-ec.key "${pkcs10[@]}" --data-binary @other-key.b64 "$EST/simplereenroll"
pass "reenroll refusals: other subject, no certificate 403, superseded 403"

# The answer was lost: the same request again gets the same certificate, nothing new is issued.
expect_status 200 "reenroll repeated" -- "${tls[@]}" --cert curl-ec.pem --key curl-ec.key \
  "${pkcs10[@]}" --data-binary @renew.b64 "$EST/simplereenroll"
decode_certs repeated.pem
cmp -s renewed.pem repeated.pem || fail "the repeated renewal answered another certificate"
pass "a renewal asked again with the same key gets the identical certificate"

new_csr refused -newkey ec -pkeyopt ec_paramgen_curve:P-256
expect_refusal 401 "no credentials" -- "${tls[@]}" "${pkcs10[@]}" --data-binary @refused.b64 "$EST/simpleenroll"
header_value WWW-Authenticate | grep -q '^Basic realm=' || fail "401 without WWW-Authenticate"
expect_refusal 401 "wrong password" -- "${tls[@]}" -u alice:nope "${pkcs10[@]}" --data-binary @refused.b64 "$EST/simpleenroll"
expect_refusal 415 "wrong content type" -- "${tls[@]}" "${auth[@]}" -H 'Content-Type: text/plain' \
  --data-binary @refused.b64 "$EST/simpleenroll"
printf '%%%% not base64 %%%%' >garbage
expect_refusal 400 "garbage body" -- "${tls[@]}" "${auth[@]}" "${pkcs10[@]}" --data-binary @garbage "$EST/simpleenroll"
cp refused.der tampered.der
flip_byte_from_end tampered.der 5 # inside the signature value, which is the last thing in the DER
base64 tampered.der >tampered.b64
expect_refusal 400 "tampered signature" -- "${tls[@]}" "${auth[@]}" "${pkcs10[@]}" --data-binary @tampered.b64 "$EST/simpleenroll"
grep -q signature body || fail "tampered signature message: $(cat body)"
new_csr weak -newkey rsa:1024
expect_refusal 400 "RSA-1024" -- "${tls[@]}" "${auth[@]}" "${pkcs10[@]}" --data-binary @weak.b64 "$EST/simpleenroll"
expect_refusal 405 "GET simpleenroll" -- "${tls[@]}" "$EST/simpleenroll"
expect_refusal 404 "unknown path" -- "${tls[@]}" "$EST/nothing"
expect_refusal 404 "unknown label" -- "${tls[@]}" "$EST/nolabel/cacerts"
expect_refusal 501 "fullcmc" -- "${tls[@]}" "${auth[@]}" -X POST "$EST/fullcmc"
pass "refusals, each a text/plain sentence: 401 (with WWW-Authenticate), 415, 400 (garbage, bad signature, weak key), 405, 404, 501"

count=$(sqlite3 "$DATA/registry.db" 'SELECT COUNT(*) FROM certificates' 2>/dev/null || echo skip)
if [[ $count != skip ]]; then
  [[ $count -eq 5 ]] || fail "the registry holds $count certificates, expected 5 (4 enrolled + 1 renewed)"
  pass "every issued certificate is in the registry, refusals added none"
fi

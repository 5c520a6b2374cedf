#!/usr/bin/env bash
# serverkeygen (RFC 7030 §4.4): est-client in both key forms (PKCS#8 and enveloped to the TLS
# client certificate's key), then curl + openssl as an independent client for both forms, and
# the refusals.
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
client=(--server "$URL" --ca-file "$DATA/ca/root.pem" --user alice --password-file "$WORK/password")

# A decryption certificate of each kind the server can encrypt to (openssl req -x509 gives it a
# subjectKeyIdentifier), and an Ed25519 one it cannot.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout recip-ec.key \
  -subj /CN=recipient-ec -days 2 -out recip-ec.pem 2>/dev/null
openssl req -x509 -newkey rsa:2048 -nodes -keyout recip-rsa.key -subj /CN=recipient-rsa -days 2 \
  -out recip-rsa.pem 2>/dev/null
openssl req -x509 -newkey ed25519 -nodes -keyout recip-ed.key -subj /CN=recipient-ed -days 2 \
  -out recip-ed.pem 2>/dev/null

key_matches_cert() { # key_matches_cert KEY CERT
  [[ $(openssl pkey -in "$1" -pubout) == $(openssl x509 -in "$2" -noout -pubkey) ]]
}

# --- est-client, PKCS#8 form
expect_exit 0 "serverkeygen pkcs8" -- est_client serverkeygen "${client[@]}" --cn keygen-plain \
  --key-out plain/key.pem --cert-out plain/cert.pem
grep -q "PKCS#8" stdout || fail "serverkeygen did not report the PKCS#8 form: $(cat stdout)"
[[ $(stat -c %a plain/key.pem) == 600 ]] || fail "the generated key is not 0600"
key_matches_cert plain/key.pem plain/cert.pem || fail "the generated key does not match its certificate"
openssl pkey -in plain/key.pem -noout -text | grep -q "prime256v1" || fail "the default key is not P-256"
$EST_SERVER certs list --thing keygen-plain --data "$DATA" | grep -q keygen-plain ||
  fail "the registry does not hold the serverkeygen certificate"
pass "est-client serverkeygen: PKCS#8 key, 0600, matches its certificate, recorded"

# The CSR's key type is the hint when the profile fixes none.
expect_exit 0 "serverkeygen rsa hint" -- est_client serverkeygen "${client[@]}" --cn keygen-rsa \
  --key-type rsa-2048 --key-out rsa/key.pem --cert-out rsa/cert.pem
openssl pkey -in rsa/key.pem -noout -text | grep -q "Private-Key: (2048 bit" ||
  fail "the rsa-2048 hint did not give an RSA 2048 key"
pass "the CSR's key type is the hint"

# One file for both: the certificate would overwrite the only copy of the key. Refused, exit 2.
mkdir -p same
expect_exit 2 "serverkeygen --key-out X --cert-out X" -- est_client serverkeygen "${client[@]}" \
  --cn keygen-same --key-out same/both.pem --cert-out same/../same/both.pem
grep -q -- '--key-out and --cert-out name the same file' err || fail "same-file message: $(cat err)"
[[ ! -e same/both.pem ]] || fail "a refused serverkeygen wrote a file"
$EST_SERVER certs list --thing keygen-same --data "$DATA" | grep -q keygen-same &&
  fail "a key was generated for a refused serverkeygen"
pass "serverkeygen refuses one file for key and certificate before anything is sent"

# --- est-client, enveloped form, to an EC and to an RSA key
for kind in ec rsa; do
  expect_exit 0 "serverkeygen enveloped $kind" -- est_client serverkeygen "${client[@]}" \
    --cn "keygen-env-$kind" --decrypt-cert "recip-$kind.pem" --decrypt-key "recip-$kind.key" \
    --key-out "env-$kind/key.pem" --cert-out "env-$kind/cert.pem"
  grep -q "encrypted" stdout || fail "serverkeygen did not report the enveloped form: $(cat stdout)"
  key_matches_cert "env-$kind/key.pem" "env-$kind/cert.pem" ||
    fail "the enveloped key ($kind) does not match its certificate"
done
pass "est-client serverkeygen: key enveloped to an EC (key agreement) and an RSA (key transport) key"

# A decryption key that is not the certificate's: refused before anything is sent.
expect_exit 1 "mismatched decrypt key" -- est_client serverkeygen "${client[@]}" --cn keygen-bad \
  --decrypt-cert recip-ec.pem --decrypt-key recip-rsa.key --key-out bad/key.pem --cert-out bad/cert.pem
grep -q "does not match" err || fail "mismatched decrypt key: $(cat err)"
[[ ! -e bad/key.pem ]] || fail "a key was written after a refusal"
expect_exit 1 "ed25519 recipient" -- est_client serverkeygen "${client[@]}" --cn keygen-ed \
  --decrypt-cert recip-ed.pem --decrypt-key recip-ed.key --key-out ed/key.pem --cert-out ed/cert.pem
grep -q "(400).*only an RSA or EC key" err || fail "ed25519 recipient: $(cat err)"
$EST_SERVER certs list --thing keygen-ed --data "$DATA" | grep -q keygen-ed &&
  fail "a certificate was issued although the key could not be delivered"
pass "refused: a decryption key that does not match, an Ed25519 recipient (nothing issued)"

# --- curl + openssl: PKCS#8 form
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout csr-only.key \
  -subj /CN=curl-keygen -outform DER -out curl.der 2>/dev/null
base64 curl.der >curl.b64
expect_status 200 "curl serverkeygen" -- "${tls[@]}" "${auth[@]}" "${pkcs10[@]}" \
  --data-binary @curl.b64 "$EST/serverkeygen"
type=$(header_value Content-Type)
[[ $type =~ ^multipart/mixed\;\ *boundary=(.+)$ ]] || fail "serverkeygen type '$type'"
boundary=${BASH_REMATCH[1]}
# The parts as files: part-1, part-2 (headers, blank line, base64 body).
tr -d '\r' <body | awk -v b="--$boundary" '
  $0 == b || $0 == b "--" { n++; file = "part-" n; next }
  n { print > file }'
[[ -s part-1 && -s part-2 ]] || fail "serverkeygen answer has no two parts"
grep -qi '^Content-Type: application/pkcs8$' part-1 || fail "the first part is not the key: $(head -3 part-1)"
grep -qi '^Content-Transfer-Encoding: base64$' part-1 || fail "the key part has no base64 CTE"
grep -qi '^Content-Type: application/pkcs7-mime; smime-type=certs-only$' part-2 ||
  fail "the second part is not the certificate: $(head -3 part-2)"
part_body() { sed '1,/^$/d' "$1"; }
part_body part-1 | base64 -d >curl-key.der
openssl pkey -inform DER -in curl-key.der -out curl-key.pem 2>/dev/null || fail "openssl pkey cannot read the PKCS#8 part"
part_body part-2 | base64 -d | openssl pkcs7 -inform DER -print_certs >curl-cert.pem ||
  fail "the certificate part is not PKCS#7"
key_matches_cert curl-key.pem curl-cert.pem || fail "curl: the key does not match the certificate"
key_matches_cert csr-only.key curl-cert.pem && fail "the certificate certifies the CSR's key"
openssl verify -CAfile "$DATA/ca/root.pem" -untrusted "$DATA/ca/chain.pem" curl-cert.pem >/dev/null ||
  fail "the serverkeygen certificate does not verify"
pass "curl + openssl: multipart/mixed, key part first, openssl pkey reads the PKCS#8, key matches"

# --- curl + openssl: the enveloped form. openssl req cannot add an OCTET STRING attribute, so the
# CSR is assembled from an openssl CSR's parts and signed with openssl dgst.
hex() { od -An -v -tx1 | tr -d ' \n'; }
unhex() { tr -d '\n' | sed 's/../\\x&/g' | xargs -0 printf '%b'; }
der_len() { # der_len BYTES -> hex of the DER length
  local n=$1
  if ((n < 128)); then printf '%02x' "$n"
  elif ((n < 256)); then printf '81%02x' "$n"
  else printf '82%04x' "$n"; fi
}
tlv() { printf '%s%s%s' "$1" "$(der_len $((${#2} / 2)))" "$2"; } # tlv TAGHEX CONTENTHEX
header_length() { # header_length HEX (at a tag): the bytes of tag and length
  local first=$((16#${1:2:2}))
  if ((first < 128)); then echo 2; else echo $((2 + (first & 127))); fi
}
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout env-csr.key \
  -subj /CN=curl-keygen-env -outform DER -out env-plain.der 2>/dev/null
csr_hex=$(hex <env-plain.der)
outer=$(header_length "$csr_hex")
cri_hex=${csr_hex:$((outer * 2))}
cri_header=$(header_length "$cri_hex")
cri_len=$((16#$(openssl asn1parse -inform DER -in env-plain.der | sed -n 2p | sed 's/.*l= *\([0-9]*\).*/\1/' | xargs printf '%x')))
cri_body=${cri_hex:$((cri_header * 2)):$((cri_len * 2))}
[[ ${cri_body: -4} == a000 ]] || fail "the openssl CSR does not end in empty attributes"
ski=$(openssl x509 -in recip-ec.pem -noout -ext subjectKeyIdentifier | tail -n 1 | tr -d ' :\n' | tr 'A-F' 'a-f')
attr=$(tlv 30 "060b2a864886f70d010910023631$(der_len $((${#ski} / 2 + 2)))$(tlv 04 "$ski")")
cri=$(tlv 30 "${cri_body:0:-4}$(tlv a0 "$attr")")
unhex <<<"$cri" >cri.der
openssl dgst -sha256 -sign env-csr.key -out cri.sig cri.der
sig=$(hex <cri.sig)
tlv 30 "${cri}300a06082a8648ce3d040302$(tlv 03 "00$sig")" | unhex >env.der
openssl req -inform DER -in env.der -verify -noout 2>&1 | grep -q "verify OK" ||
  fail "the assembled CSR does not verify"
base64 env.der >env.b64
expect_status 200 "curl serverkeygen enveloped" -- "${tls[@]}" "${auth[@]}" "${pkcs10[@]}" \
  --cert recip-ec.pem --key recip-ec.key --data-binary @env.b64 "$EST/serverkeygen"
type=$(header_value Content-Type)
[[ $type =~ ^multipart/mixed\;\ *boundary=(.+)$ ]] || fail "serverkeygen type '$type'"
boundary=${BASH_REMATCH[1]}
rm -f part-*
tr -d '\r' <body | awk -v b="--$boundary" '
  $0 == b || $0 == b "--" { n++; file = "part-" n; next }
  n { print > file }'
grep -qi '^Content-Type: application/pkcs7-mime; smime-type=server-generated-key$' part-1 ||
  fail "the first part is not the enveloped key: $(head -3 part-1)"
part_body part-1 | base64 -d >enveloped.der
openssl cms -decrypt -inform DER -in enveloped.der -inkey recip-ec.key -recip recip-ec.pem \
  -binary -out signed.der 2>openssl.err || fail "openssl cms -decrypt failed: $(cat openssl.err)"
# The enveloped content is a bare SignedData; openssl reads it inside a ContentInfo.
tlv 30 "06092a864886f70d010702$(tlv a0 "$(hex <signed.der)")" | unhex >signed-ci.der
openssl cms -verify -inform DER -in signed-ci.der -CAfile "$DATA/ca/root.pem" -purpose any \
  -binary -out package.der 2>openssl.err || fail "openssl cms -verify failed: $(cat openssl.err)"
openssl cms -cmsout -print -inform DER -in signed-ci.der | grep -q "eContentType: .*2.16.840.1.101.2.1.2.78.5" ||
  fail "the signed content is not an AsymmetricKeyPackage"
package=$(hex <package.der)
unhex <<<"${package:$(($(header_length "$package") * 2))}" >env-key.der
openssl pkey -inform DER -in env-key.der -out env-key.pem 2>/dev/null ||
  fail "openssl pkey cannot read the key in the package"
part_body part-2 | base64 -d | openssl pkcs7 -inform DER -print_certs >env-cert.pem
key_matches_cert env-key.pem env-cert.pem || fail "the enveloped key does not match the certificate"
pass "curl + openssl: openssl cms -decrypt opens the enveloped key, cms -verify checks the CA's signature"

# The identifier must name the TLS client certificate: without one, or another one, refused.
expect_refusal 400 "no TLS client certificate" -- "${tls[@]}" "${auth[@]}" "${pkcs10[@]}" \
  --data-binary @env.b64 "$EST/serverkeygen"
grep -q "presented none" body || fail "no TLS certificate: $(cat body)"
expect_refusal 400 "another TLS client certificate" -- "${tls[@]}" "${auth[@]}" "${pkcs10[@]}" \
  --cert recip-rsa.pem --key recip-rsa.key --data-binary @env.b64 "$EST/serverkeygen"
grep -q "is not the subjectKeyIdentifier" body || fail "other certificate: $(cat body)"
pass "refused (400): AsymmetricDecryptKeyIdentifier with no or another TLS client certificate"

# A symmetric DecryptKeyIdentifier: 501.
attr=$(tlv 30 "060b2a864886f70d010910022531$(der_len 10)$(tlv 04 0011223344556677)")
cri=$(tlv 30 "${cri_body:0:-4}$(tlv a0 "$attr")")
unhex <<<"$cri" >cri.der
openssl dgst -sha256 -sign env-csr.key -out cri.sig cri.der
tlv 30 "${cri}300a06082a8648ce3d040302$(tlv 03 "00$(hex <cri.sig)")" | unhex | base64 >sym.b64
expect_refusal 501 "DecryptKeyIdentifier" -- "${tls[@]}" "${auth[@]}" "${pkcs10[@]}" \
  --data-binary @sym.b64 "$EST/serverkeygen"
grep -q "symmetric" body || fail "DecryptKeyIdentifier: $(cat body)"
pass "refused (501): a symmetric DecryptKeyIdentifier"

# The same gates as simpleenroll: no credentials, a bad CSR signature, a taken ThingName.
expect_refusal 401 "no credentials" -- "${tls[@]}" "${pkcs10[@]}" --data-binary @curl.b64 "$EST/serverkeygen"
cp curl.der tampered.der
flip_byte_from_end tampered.der 3
base64 tampered.der >tampered.b64
expect_refusal 400 "bad CSR signature" -- "${tls[@]}" "${auth[@]}" "${pkcs10[@]}" \
  --data-binary @tampered.b64 "$EST/serverkeygen"
expect_refusal 409 "taken ThingName" -- "${tls[@]}" "${auth[@]}" "${pkcs10[@]}" \
  --data-binary @curl.b64 "$EST/serverkeygen"
pass "refused like simpleenroll: 401 without credentials, 400 bad signature, 409 taken name"

# The generated key never reaches the log or the registry.
b64key=$(part_body part-1 | head -n 1)
grep -qF "${b64key:0:40}" "$WORK/server.log" && fail "the server logged key material"
grep -c "POST /.well-known/est/serverkeygen 200" "$WORK/server.log" >/dev/null ||
  fail "the access log has no serverkeygen line"
pass "no key material in the server log"

#!/usr/bin/env bash
# Hostile enrollment content against the real binary: names with NUL or non-UTF-8 bytes, huge,
# many or repeated extensions, an RSA-16384 key (refused before its signature is computed with),
# curves outside the profile, signatures that do not verify, renewal with certificates of another
# CA, expired, not-yet-valid or revoked ones, and proof-of-possession replayed from another TLS
# connection. Each gets its own status and sentence, changes nothing, and the server enrolls
# correctly right after.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"
# shellcheck source=tests/integration/hostile_lib.sh
source "$(dirname "$0")/hostile_lib.sh"
hostile_setup
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out p256.key 2>/dev/null

# --- names ---------------------------------------------------------------------------------------
"${HOSTILE[@]}" csr nul-cn --cn dev-nul --key p256.key --out nul.b64
post_body nul.b64
expect_answer 400 "CN is not a valid ThingName"
refused_cleanly "a CN holding a NUL byte: 400"

"${HOSTILE[@]}" csr latin1-cn --cn dev-latin --key p256.key --out latin1.b64
post_body latin1.b64
[[ $(cat status) == 400 ]] || fail "a CN that is not UTF-8: expected 400, got $(cat status): $(cat body)"
grep -qE 'not a DER PKCS#10|not a valid ThingName' body || fail "a CN that is not UTF-8: $(cat body)"
refused_cleanly "a CN that is not UTF-8: 400 ($(head -n 1 body))"

# openssl req stops at 64 characters (X.520's upper bound); hostile.py does not.
"${HOSTILE[@]}" csr plain --cn "$(head -c 200 /dev/zero | tr '\0' a)" --key p256.key --out long.b64
post_body long.b64
expect_answer 400 "CN is not a valid ThingName"
refused_cleanly "a 200-character CN: 400"

openssl req -new -key p256.key -subj "/CN=dev-two/CN=dev-three" -outform DER 2>/dev/null | base64 >two.b64
post_body two.b64
expect_answer 400 "exactly one CN"
refused_cleanly "two CNs: 400"

# --- extensions ----------------------------------------------------------------------------------
"${HOSTILE[@]}" csr duplicate-extension --cn dev-dup --key p256.key --out dup.b64
post_body dup.b64
expect_answer 400 "more than once"
refused_cleanly "subjectAltName requested twice: 400"

"${HOSTILE[@]}" csr huge-extension --cn dev-huge --key p256.key --size 40000 --out huge.b64
post_body huge.b64
expect_answer 400 "extension"
refused_cleanly "a 40 KB extension: 400 ($(head -n 1 body))"

"${HOSTILE[@]}" csr many-extensions --cn dev-many --key p256.key --size 1500 --out many.b64
post_body many.b64
expect_answer 400 "extension"
refused_cleanly "1500 extensions: 400 ($(head -n 1 body))"

# --- keys ------------------------------------------------------------------------------------------
"${HOSTILE[@]}" csr rsa-modulus --cn dev-rsa --bits 16384 --out rsa16384.b64
started=$(date +%s%N)
post_body rsa16384.b64
took_ms=$((($(date +%s%N) - started) / 1000000))
expect_answer 400 "RSA key of 16384 bits is larger than the 4096 accepted"
refused_cleanly "an RSA-16384 key: 400 in ${took_ms} ms, its (random) signature never checked"

for curve in secp256k1 brainpoolP256r1 secp521r1; do
  openssl req -new -newkey ec -pkeyopt "ec_paramgen_curve:$curve" -nodes -keyout /dev/null \
    -subj "/CN=dev-$curve" -outform DER 2>/dev/null | base64 >"$curve.b64"
  post_body "$curve.b64"
  expect_answer 400 "EC curve $curve is not accepted"
done
refused_cleanly "secp256k1, brainpoolP256r1 and secp521r1 keys: 400 naming the curve"

openssl req -new -newkey rsa:1024 -nodes -keyout /dev/null -subj /CN=dev-weak -outform DER 2>/dev/null | base64 >weak.b64
post_body weak.b64
expect_answer 400 "RSA key of 1024 bits is too weak"
refused_cleanly "an RSA-1024 key: 400"

openssl req -new -key p256.key -subj /CN=dev-badsig -outform DER -out badsig.der 2>/dev/null
flip_byte_from_end badsig.der 1
base64 badsig.der >badsig.b64
post_body badsig.b64
expect_answer 400 "signature does not verify"
refused_cleanly "a CSR whose signature does not verify: 400"

# --- renewal with certificates the server must not renew ----------------------------------------
renew_with() { # renew_with CERT KEY: simplereenroll with this client certificate, CSR for its CN
  local cn
  cn=$(openssl x509 -in "$1" -noout -subject -nameopt multiline | sed -n 's/^ *commonName *= //p')
  openssl req -new -key "$2" -subj "/CN=$cn" -outform DER 2>/dev/null | base64 >renew.b64
  curl -sS --max-time "$COMMAND_TIMEOUT" --cacert "$ROOT" --cert "$1" --key "$2" \
    -H 'Content-Type: application/pkcs10' --data-binary @renew.b64 -o "$WORK/body" \
    -D "$WORK/headers.raw" -w '%{http_code}' "$EST/simplereenroll" >"$WORK/status" 2>"$WORK/curl.err" || true
  tr -d '\r' <"$WORK/headers.raw" | tr '[:upper:]' '[:lower:]' >"$WORK/headers"
}

# A CA of our own, once with its own name and once impersonating the issuing CA's name.
issuing_subject=$(openssl x509 -in "$DATA/ca/chain.pem" -noout -subject -nameopt RFC2253 | sed 's/^subject=//')
own_ca() { # own_ca NAME SUBJECT
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$1.key" \
    -subj "$2" -days 30 -out "$1.pem" 2>/dev/null
  openssl req -new -key p256.key -subj /CN=after-1 -out "$1-leaf.csr" 2>/dev/null
  openssl x509 -req -in "$1-leaf.csr" -CA "$1.pem" -CAkey "$1.key" -CAcreateserial -days 30 \
    -out "$1-leaf.pem" 2>/dev/null
}
own_ca rogue "/CN=Rogue CA"
renew_with rogue-leaf.pem p256.key
expect_answer 403 "not issued by this CA"
refused_cleanly "renewal with another CA's certificate: 403"
own_ca forged "/$(tr ',' '/' <<<"$issuing_subject")"
renew_with forged-leaf.pem p256.key
expect_answer 403 "cannot be renewed"
refused_cleanly "renewal with a certificate of a CA forging the issuing CA's name: 403 ($(head -n 1 body))"

# Certificates of the real issuing CA, but outside their validity: made with `openssl ca`.
openssl x509 -in "$DATA/ca/chain.pem" -out issuing.pem
mkdir -p ca-db/new && : >ca-db/index.txt && echo 1000 >ca-db/serial
cat >mini-ca.cnf <<'EOF'
[ca]
default_ca = mini
[mini]
database = ca-db/index.txt
new_certs_dir = ca-db/new
serial = ca-db/serial
default_md = sha256
policy = anything
unique_subject = no
[anything]
commonName = supplied
EOF
sign_dated() { # sign_dated CN START END OUT
  openssl req -new -key p256.key -subj "/CN=$1" -out "$1.csr" 2>/dev/null
  openssl ca -batch -notext -config mini-ca.cnf -cert issuing.pem -keyfile "$DATA/ca/issuing.key" \
    -in "$1.csr" -startdate "$2" -enddate "$3" -out "$4" 2>"$WORK/openssl.err" ||
    fail "openssl ca: $(cat "$WORK/openssl.err")"
}
sign_dated dev-expired 20200101000000Z 20200201000000Z expired.pem
renew_with expired.pem p256.key
expect_answer 403 "expired"
refused_cleanly "renewal with an expired certificate of this CA: 403"
sign_dated dev-future 20990101000000Z 20991231000000Z future.pem
renew_with future.pem p256.key
expect_answer 403 "not yet valid"
refused_cleanly "renewal with a not-yet-valid certificate of this CA: 403"
sign_dated dev-unregistered 20200101000000Z 20990101000000Z unregistered.pem
renew_with unregistered.pem p256.key
expect_answer 403 "not in the registry"
refused_cleanly "renewal with a valid certificate of this CA that it never issued through EST: 403"

serial=$(est_server certs list --thing after-1 --data "$DATA" --json | sed -n 's/^ *"serial": "\([0-9A-Fa-f]*\)".*/\1/p' | head -n 1)
[[ -n $serial ]] || fail "no serial for after-1"
est_server certs revoke "$serial" --reason keyCompromise --data "$DATA" >/dev/null || fail "certs revoke"
snapshot_registry >before.txt
renew_with after-1.pem after-1.key
expect_answer 403 "revoked"
refused_cleanly "renewal with a revoked certificate: 403"

# --- proof of possession replayed from another connection (TLS 1.2 tls-unique) -----------------
"${HOSTILE[@]}" pop-replay --user alice --password-file "$WORK/password" --cn dev-replay >status ||
  fail "pop-replay"
expect_answer 403 "does not match this TLS connection's channel binding"
refused_cleanly "a challengePassword holding another connection's tls-unique: 403"
"${HOSTILE[@]}" pop-replay --own --user alice --password-file "$WORK/password" --cn dev-own-binding >status ||
  fail "pop-replay --own"
[[ $(cat status) == 200 ]] || fail "the same CSR shape with its own connection's binding: $(cat status) $(cat body)"
snapshot_registry >before.txt
pass "control: the same request with its own connection's binding enrolls (200)"

if grep -qiE 'terminate|abort|segmentation' "$WORK/server.log"; then
  fail "the server log shows a crash"
fi
pass "the server survived every hostile enrollment"

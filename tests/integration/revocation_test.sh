#!/usr/bin/env bash
# Revocation end to end against the real server: certs revoke and things disable, the CRL at
# GET /crl and on disk checked with openssl crl / openssl verify -crl_check, the OCSP responder
# checked with openssl ocsp (POST and GET), a revoked or disabled identity refused on re-enrollment,
# the superseded grace running out, and the CRL file refreshed while the server is down.
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"
cd "$WORK"

init_data
# A profile whose renewed certificates stay good for relying parties for 3 seconds.
cat >>"$DATA/est-server.toml" <<'TOML'

[profiles.grace]
auth = ["basic"]
superseded_grace = "3s"
TOML

# The URLs name the server's own port, so learn one first, then serve on it.
stop_server() {
  kill -TERM "$SERVER_PID" 2>/dev/null || true
  wait "$SERVER_PID" 2>/dev/null || true
  SERVER_PID=
}
start_server
stop_server
sed -i "s|^# distribution_point = .*|distribution_point = \"https://localhost:$PORT/crl\"|; \
        s|^# url = .*|url = \"https://localhost:$PORT/ocsp\"|" "$DATA/est-server.toml"
grep -q "^distribution_point = \"https://localhost:$PORT/crl\"" "$DATA/est-server.toml" ||
  fail "could not configure crl.distribution_point"
restart_on_port() {
  rm -f "$WORK/port"
  "$EST_SERVER" serve --data "$DATA" --listen "127.0.0.1:$PORT" --port-file "$WORK/port" \
    >>"$WORK/server.log" 2>&1 &
  SERVER_PID=$!
  await_listening "$SERVER_PID" "$WORK/port"
}
restart_on_port
[[ $(stat -c %a "$DATA/ca/ocsp.key") == 600 ]] || fail "ca/ocsp.key is not 0600"

CA=$DATA/ca/root.pem
CHAIN=$DATA/ca/chain.pem
ISSUER=$DATA/ca/issuing.pem

enroll() { # NAME [--label L]
  local name=$1
  shift
  est_client enroll --server "$URL" --ca-file "$CA" --cn "$name" --user alice \
    --password-file "$WORK/password" --key-out "$name.key" --cert-out "$name.pem" "$@" \
    >/dev/null 2>"$WORK/err" || fail "enroll $name: $(cat "$WORK/err")"
}
reenroll() { # NAME OUT [--label L]: renews NAME.pem into OUT.pem
  local name=$1 out=$2
  shift 2
  est_client reenroll --server "$URL" --ca-file "$CA" --cert "$name.pem" --key "$name.key" \
    --key-out "$out.key" --cert-out "$out.pem" "$@" >/dev/null 2>"$WORK/err"
}
serial_of() { openssl x509 -in "$1" -noout -serial | cut -d= -f2; }

fetch_crl() { # -> crl.der and crl.txt, checked as a served CRL
  expect_status 200 "GET /crl" -- --cacert "$CA" "$URL/crl"
  [[ $(header_value Content-Type) == application/pkix-crl ]] ||
    fail "GET /crl: Content-Type $(header_value Content-Type)"
  [[ $(header_value Content-Length) -eq $(stat -c %s "$WORK/body") ]] ||
    fail "GET /crl: Content-Length does not match the body"
  cp "$WORK/body" crl.der
  openssl crl -inform DER -in crl.der -noout -text >crl.txt 2>"$WORK/openssl.err" ||
    fail "the served CRL does not parse: $(cat "$WORK/openssl.err")"
  openssl crl -inform DER -in crl.der -noout -CAfile "$CHAIN" 2>&1 | grep -q 'verify OK' ||
    fail "the served CRL's signature does not verify against the issuing CA"
}
crl_number() { sed -n '/CRL Number/{n;s/ //g;p}' crl.txt; }
# crl_reason SERIAL: the reason the last fetched CRL gives for SERIAL ("" if not listed or
# listed without a reason code).
crl_reason() {
  awk -v s="$1" '
    /Serial Number:/ { listed = ($3 == s); next }
    listed && /CRL Reason Code/ { getline; gsub(/^ +/, ""); print; exit }' crl.txt
}
on_crl() { grep -q "Serial Number: $1\$" crl.txt; }

ocsp() { # CERT [extra openssl ocsp args]: the responder's verdict for CERT (good, revoked, ...)
  local cert=$1
  shift
  openssl ocsp -issuer "$ISSUER" -cert "$cert" -url "$URL/ocsp" -CAfile "$CA" -resp_text "$@" \
    >ocsp.txt 2>ocsp.err || fail "openssl ocsp failed for $cert: $(cat ocsp.err)"
  grep -q '^Response verify OK' ocsp.err || fail "openssl ocsp did not verify the response: $(cat ocsp.err)"
  grep "^$cert: " ocsp.txt | cut -d' ' -f2
}

# --- enrolled certificates point at the CRL and the responder, and are good --------------------
enroll dev1
openssl x509 -in dev1.pem -noout -text >dev1.txt
grep -q "URI:https://localhost:$PORT/crl" dev1.txt || fail "dev1 has no CRL distribution point"
grep -q "OCSP - URI:https://localhost:$PORT/ocsp" dev1.txt || fail "dev1 has no OCSP URL"
SERIAL1=$(serial_of dev1.pem)

fetch_crl
grep -q 'Version 2' crl.txt || fail "the CRL is not v2"
grep -q 'X509v3 Authority Key Identifier' crl.txt || fail "the CRL has no AKI"
grep -q 'Next Update' crl.txt || fail "the CRL has no nextUpdate"
FIRST_NUMBER=$(crl_number)
[[ $FIRST_NUMBER =~ ^[0-9]+$ ]] || fail "the CRL has no CRL number: $(cat crl.txt)"
on_crl "$SERIAL1" && fail "dev1 is on the CRL before being revoked"
openssl verify -crl_check -CRLfile crl.der -CAfile "$CHAIN" dev1.pem >/dev/null 2>&1 ||
  fail "openssl verify -crl_check refused dev1 before revocation"
cmp -s crl.der "$DATA/crl/crl.der" || fail "the CRL on disk differs from the served one"
pass "dev1 enrolled with CRL DP and OCSP AIA; CRL $FIRST_NUMBER does not list it"

[[ $(ocsp dev1.pem) == good ]] || fail "OCSP: dev1 is not good: $(cat ocsp.txt)"
grep -q 'WARNING: no nonce' ocsp.err && fail "OCSP: the nonce was not echoed"
grep -q 'OCSP Nonce' ocsp.txt || fail "OCSP: the response carries no nonce"
grep -q 'Responder Id: [0-9A-F]\{40\}' ocsp.txt || fail "OCSP: the response is not signed byKey"
# The GET form (RFC 6960 A.1): the URL-encoded base64 of the request.
openssl ocsp -issuer "$ISSUER" -cert dev1.pem -no_nonce -reqout req.der >/dev/null 2>&1 ||
  fail "openssl ocsp -reqout failed"
ENCODED=$(base64 -w0 req.der | sed 's|+|%2B|g; s|/|%2F|g; s|=|%3D|g')
expect_status 200 "GET /ocsp/<request>" -- --cacert "$CA" "$URL/ocsp/$ENCODED"
[[ $(header_value Content-Type) == application/ocsp-response ]] || fail "GET /ocsp: Content-Type"
openssl ocsp -respin "$WORK/body" -issuer "$ISSUER" -cert dev1.pem -CAfile "$CA" >get.txt 2>&1 ||
  fail "GET /ocsp: the response does not verify: $(cat get.txt)"
grep -q '^dev1.pem: good' get.txt || fail "GET /ocsp: dev1 not good: $(cat get.txt)"
pass "OCSP says good, by POST (nonce echoed, signed byKey) and by GET"

# The responseStatus of the last response body, as openssl prints it ("malformedrequest (1)").
ocsp_status_of_body() {
  { openssl ocsp -respin "$WORK/body" -resp_text -noverify 2>&1 || true; } |
    sed -n 's/^Responder Error: //p'
}

# --- refusals on the revocation endpoints ---------------------------------------------------------
printf 'not an ocsp request' >junk
expect_status 200 "POST junk to /ocsp" -- --cacert "$CA" -H 'Content-Type: application/ocsp-request' \
  --data-binary @junk "$URL/ocsp"
ocsp_status_of_body | grep -qx 'malformedrequest (1)' ||
  fail "a malformed OCSP request did not get malformedRequest"
expect_status 200 "GET /ocsp/!!" -- --cacert "$CA" "$URL/ocsp/%21%21"
ocsp_status_of_body | grep -qx 'malformedrequest (1)' ||
  fail "a malformed OCSP GET did not get malformedRequest"
expect_refusal 415 "POST /ocsp as text/plain" -- --cacert "$CA" -H 'Content-Type: text/plain' \
  --data-binary @req.der "$URL/ocsp"
expect_refusal 405 "POST /crl" -- --cacert "$CA" --data-binary @junk "$URL/crl"
[[ $(header_value Allow) == GET ]] || fail "POST /crl: no Allow: GET"
pass "malformed OCSP requests get malformedRequest; wrong media type 415; POST /crl 405"

# --- certs revoke --------------------------------------------------------------------------------
est_server certs revoke "$SERIAL1" --reason keyCompromise --data "$DATA" >revoke.out 2>&1 ||
  fail "certs revoke: $(cat revoke.out)"
grep -q "revoked certificate $SERIAL1 of dev1 (keyCompromise); CRL [0-9]* published" revoke.out ||
  fail "certs revoke said: $(cat revoke.out)"
fetch_crl
(($(crl_number) > FIRST_NUMBER)) || fail "the CRL number did not increase after a revocation"
on_crl "$SERIAL1" || fail "dev1 is not on the CRL after revocation"
[[ $(crl_reason "$SERIAL1") == "Key Compromise" ]] || fail "dev1's CRL reason is '$(crl_reason "$SERIAL1")'"
grep -A1 "Serial Number: $SERIAL1" crl.txt | grep -q 'Revocation Date' || fail "no revocation date"
if openssl verify -crl_check -CRLfile crl.der -CAfile "$CHAIN" dev1.pem >verify.out 2>&1; then
  fail "openssl verify -crl_check still accepts the revoked dev1"
fi
grep -q 'certificate revoked' verify.out || fail "openssl verify failed for another reason: $(cat verify.out)"
cmp -s crl.der "$DATA/crl/crl.der" || fail "the CRL on disk differs from the served one"
openssl crl -in "$DATA/crl/crl.pem" -outform DER | cmp -s - crl.der || fail "crl.pem differs from crl.der"
[[ $(ocsp dev1.pem) == revoked ]] || fail "OCSP: dev1 is not revoked: $(cat ocsp.txt)"
grep -q 'Reason: keyCompromise' ocsp.txt || fail "OCSP: no keyCompromise reason: $(cat ocsp.txt)"
grep -q 'Revocation Time' ocsp.txt || fail "OCSP: no revocation time"
if reenroll dev1 dev1-new; then fail "a revoked certificate re-enrolled"; fi
{ grep -q '403' "$WORK/err" && grep -q 'revoked' "$WORK/err"; } ||
  fail "reenroll with a revoked certificate: $(cat "$WORK/err")"
[[ -e dev1-new.pem ]] && fail "a certificate was written for the revoked dev1"
pass "after certs revoke: on the CRL (keyCompromise), verify -crl_check fails, OCSP revoked, reenroll 403"

# --- things disable revokes every certificate of the thing -----------------------------------------
enroll dev2
reenroll dev2 dev2b || fail "reenroll dev2: $(cat "$WORK/err")"
OLD2=$(serial_of dev2.pem)
NEW2=$(serial_of dev2b.pem)
# Default profile, no grace: the renewed certificate reads as superseded at once.
{ [[ $(ocsp dev2.pem) == revoked ]] && grep -q 'Reason: superseded' ocsp.txt; } ||
  fail "OCSP: the superseded dev2 (no grace) is not revoked (superseded): $(cat ocsp.txt)"
[[ $(ocsp dev2b.pem) == good ]] || fail "OCSP: the renewed dev2 is not good"
est_server things disable dev2 --data "$DATA" >disable.out 2>&1 || fail "things disable: $(cat disable.out)"
grep -q "revoked 2 certificate(s)" disable.out || fail "things disable said: $(cat disable.out)"
fetch_crl
{ on_crl "$OLD2" && on_crl "$NEW2"; } || fail "not every dev2 certificate is on the CRL"
[[ $(crl_reason "$NEW2") == "Cessation Of Operation" ]] || fail "dev2's CRL reason is '$(crl_reason "$NEW2")'"
[[ $(ocsp dev2b.pem) == revoked ]] || fail "OCSP: the disabled dev2 is not revoked"
if reenroll dev2b dev2c; then fail "a disabled thing re-enrolled"; fi
grep -q '403' "$WORK/err" || fail "reenroll of a disabled thing: $(cat "$WORK/err")"
pass "things disable: every certificate revoked (CRL, OCSP), reenroll refused"

# --- the superseded grace -------------------------------------------------------------------------
enroll dev3 --label grace
reenroll dev3 dev3b --label grace || fail "reenroll dev3: $(cat "$WORK/err")"
OLD3=$(serial_of dev3.pem)
[[ $(ocsp dev3.pem) == good ]] || fail "OCSP: dev3 is not good within its grace: $(cat ocsp.txt)"
fetch_crl
on_crl "$OLD3" && fail "dev3 is on the CRL within its grace"
if reenroll dev3 dev3c --label grace; then fail "a superseded certificate renewed again"; fi
sleep 4
{ [[ $(ocsp dev3.pem) == revoked ]] && grep -q 'Reason: superseded' ocsp.txt; } ||
  fail "OCSP: dev3 is not revoked (superseded) after its grace: $(cat ocsp.txt)"
# The schedule issues a CRL when the grace ends.
fetch_crl
on_crl "$OLD3" || fail "the CRL does not list dev3 after its grace"
[[ $(crl_reason "$OLD3") == Superseded ]] || fail "dev3's CRL reason is '$(crl_reason "$OLD3")'"
[[ $(ocsp dev3b.pem) == good ]] || fail "OCSP: the renewed dev3 is not good"
pass "superseded_grace: good for 3s, then revoked (superseded) on OCSP and the CRL"

# --- with the server down, revoke still refreshes the CRL file -----------------------------------
enroll dev4
SERIAL4=$(serial_of dev4.pem)
stop_server
openssl crl -in "$DATA/crl/crl.der" -inform DER -noout -text >crl.txt
BEFORE=$(crl_number)
est_server certs revoke "$SERIAL4" --reason affiliationChanged --data "$DATA" >revoke.out 2>&1 ||
  fail "certs revoke with the server down: $(cat revoke.out)"
openssl crl -in "$DATA/crl/crl.der" -inform DER -noout -text >crl.txt
(($(crl_number) > BEFORE)) || fail "the CRL file was not renewed with the server down"
[[ $(crl_reason "$SERIAL4") == "Affiliation Changed" ]] || fail "dev4 is not on the CRL file"
openssl verify -crl_check -CRLfile "$DATA/crl/crl.pem" -CAfile "$CHAIN" dev4.pem >/dev/null 2>&1 &&
  fail "openssl verify accepts dev4 against the CRL file"
# A data folder without a responder (made before there was one) gets one on the next serve.
rm "$DATA/ca/ocsp.pem" "$DATA/ca/ocsp.key"
restart_on_port
[[ -s $DATA/ca/ocsp.pem && $(stat -c %a "$DATA/ca/ocsp.key") == 600 ]] ||
  fail "serve did not recreate the OCSP responder"
[[ $(ocsp dev4.pem) == revoked ]] || fail "OCSP: dev4 is not revoked after restart"
pass "certs revoke with the server down refreshes crl/; serve recreates a missing responder"

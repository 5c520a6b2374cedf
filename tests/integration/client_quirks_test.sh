#!/usr/bin/env bash
# est-client against EST servers that answer the way deployed ones do (issue 18, point 3): a TLS
# reverse proxy (quirk_proxy.py, its own certificate chain made here with openssl) in front of a
# real est-server rewrites every answer: base64 followed by a NUL byte that Content-Length counts,
# base64 in CRLF lines, no Content-Transfer-Encoding, trailing whitespace, raw DER, media types in
# capitals with parameters. enroll, provision, serverkeygen, cacerts and csrattrs work through
# each, and follow the profile's csrattrs. When csrattrs fail (204, 404, 501, a dropped connection,
# a body that is not base64, not a CsrAttrs, or HTML) enroll and provision warn in one line and
# enroll as configured; --require-csrattrs makes that an error and nothing is enrolled.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"
: "${EST_EXAMPLES:?EST_EXAMPLES must point at the examples folder}"
proxy_script=$(cd "$(dirname "$0")" && pwd)/quirk_proxy.py
init_data
# The profile's csrattrs ask for a P-384 key: a client that read them enrolls one, a client that
# could not uses its configuration's P-256.
cat >>"$DATA/est-server.toml" <<'TOML'

[profiles.default.csrattrs]
key_type = "ec-p384"
TOML
start_server
cd "$WORK"
EST_FLEET_SECRET=$(est_server fleet secret --data "$DATA") || fail "fleet secret"
export EST_FLEET_SECRET

# --- the proxy's own PKI: root, issuing CA, and a leaf for localhost --------------------------
new_key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }
new_key proxy-root.key
openssl req -x509 -key proxy-root.key -out proxy-root.pem -days 2 -subj "/CN=Quirk Proxy Root" \
  -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null ||
  fail "openssl: the proxy root"
new_key proxy-ca.key
openssl req -new -key proxy-ca.key -subj "/CN=Quirk Proxy Issuing CA" -out proxy-ca.csr 2>/dev/null
printf 'basicConstraints=critical,CA:TRUE,pathlen:0\nkeyUsage=critical,keyCertSign,cRLSign\n' >ca.ext
openssl x509 -req -in proxy-ca.csr -CA proxy-root.pem -CAkey proxy-root.key -CAcreateserial \
  -days 2 -extfile ca.ext -out proxy-ca.pem 2>/dev/null || fail "openssl: the proxy issuing CA"
new_key proxy-leaf.key
openssl req -new -key proxy-leaf.key -subj "/CN=localhost" -out proxy-leaf.csr 2>/dev/null
printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature\n' >leaf.ext
openssl x509 -req -in proxy-leaf.csr -CA proxy-ca.pem -CAkey proxy-ca.key -CAcreateserial \
  -days 2 -extfile leaf.ext -out proxy-leaf.pem 2>/dev/null || fail "openssl: the proxy leaf"
cat proxy-leaf.pem proxy-ca.pem >proxy-chain.pem
# The client trusts the proxy's root for TLS and the est-server's root for what it issues.
cat proxy-root.pem "$DATA/ca/root.pem" >anchors.pem

/usr/bin/python3 "$proxy_script" --upstream-port "$PORT" --upstream-ca "$DATA/ca/root.pem" \
  --cert proxy-chain.pem --key proxy-leaf.key --port-file proxy.port >>proxy.log 2>&1 &
PROXY_PID=$!
stop_proxy() {
  kill -TERM "$PROXY_PID" 2>/dev/null || true
  wait "$PROXY_PID" 2>/dev/null || true # 143: the proxy ends on SIGTERM
  cleanup
}
trap stop_proxy EXIT
deadline=$((SECONDS + 20))
until [[ -s proxy.port ]]; do
  kill -0 "$PROXY_PID" 2>/dev/null || fail "the quirk proxy exited: $(cat proxy.log)"
  ((SECONDS < deadline)) || fail "the quirk proxy did not listen within 20 s"
  sleep 0.05
done
PROXY=https://localhost:$(cat proxy.port)/q

# --- the proxy serves what it claims ------------------------------------------------------------
fetch() { # fetch QUIRK OP: the answer to GET OP through the proxy, in body and headers
  expect_status 200 "GET $2 through $1" -- --cacert proxy-root.pem "$PROXY/$1/.well-known/est/$2"
}
fetch nul csrattrs
[[ $(tail -c 1 body | od -An -tx1 | tr -d ' ') == 00 ]] || fail "nul: the body does not end in NUL"
[[ $(header_value Content-Length) -eq $(stat -c %s body) ]] || fail "nul: Content-Length does not count the NUL"
fetch crlf cacerts
[[ $(grep -c $'\r$' body) -gt 1 ]] || fail "crlf: the body is not in CRLF lines"
fetch nocte cacerts
[[ -z $(header_value Content-Transfer-Encoding) ]] || fail "nocte: a Content-Transfer-Encoding was sent"
fetch binary cacerts
[[ $(header_value Content-Transfer-Encoding) == binary ]] || fail "binary: no Content-Transfer-Encoding: binary"
openssl pkcs7 -inform DER -in body -noout 2>/dev/null || fail "binary: the body is not DER"
fetch media-case csrattrs
[[ $(header_value Content-Type) == 'APPLICATION/CSRATTRS; Name="est.bin"' ]] ||
  fail "media-case: Content-Type '$(header_value Content-Type)'"
pass "the proxy answers in each quirk's form (NUL counted in Content-Length, CRLF, no CTE, DER, capitals)"

# --- a server certificate without id-kp-cmcRA (the proxy's, like any web certificate) -----------
# est-client takes only a certificate that marks an EST server; --no-ra-check (below) lets in
# another EST server or proxy, as here.
expect_exit 1 "enroll through a server without id-kp-cmcRA" -- est_client enroll \
  --server "$PROXY/oneline" --ca-file anchors.pem --cn no-mark --user alice \
  --password-file "$WORK/password" --key-out no-mark/key.pem --cert-out no-mark/cert.pem
grep -q "lacks id-kp-cmcRA, the extended key usage that marks an EST server" err ||
  fail "the refusal does not name the missing mark: $(cat err)"
grep -q -- "--no-ra-check" err || fail "the refusal does not name the way out: $(cat err)"
[[ ! -e no-mark/cert.pem ]] || fail "a certificate was written through a server without the mark"
expect_exit 1 "cacerts through a server without id-kp-cmcRA" -- est_client cacerts \
  --server "$PROXY/oneline" --ca-file anchors.pem
pass "a server certificate without id-kp-cmcRA is refused unless --no-ra-check"


key_curve() { openssl pkey -in "$1" -noout -text 2>/dev/null | sed -n 's/^NIST CURVE: //p'; }
# fleet_config QUIRK: the example fleet under names of its own, since a ThingName enrolls once.
fleet_config() {
  sed "s/DeviceAlpha/pa-$1/g; s/DeviceBeta/pb-$1/g" "$EST_EXAMPLES/client_config.json" >"fleet-$1.json"
}
enroll() { # enroll QUIRK CN [flags...]
  local quirk=$1 cn=$2
  shift 2
  est_client enroll --server "$PROXY/$quirk" --ca-file anchors.pem --no-ra-check --cn "$cn" --user alice \
    --password-file "$WORK/password" --key-out "$cn/key.pem" --cert-out "$cn/cert.pem" "$@"
}
provision() { # provision QUIRK [flags...]
  local quirk=$1
  shift
  fleet_config "$quirk"
  est_client provision --config "fleet-$quirk.json" --out "fleet-$quirk" --server "$PROXY/$quirk" \
    --ca-file anchors.pem --no-ra-check "$@"
}

# --- every body form: each command works, and csrattrs are followed (P-384) --------------------
for quirk in oneline nul crlf nocte trailing-ws binary der-nocte media-case; do
  expect_exit 0 "enroll through $quirk" -- enroll "$quirk" "e-$quirk" --require-csrattrs
  [[ ! -s err ]] || fail "enroll through $quirk warned: $(cat err)"
  [[ $(key_curve "e-$quirk/key.pem") == P-384 ]] || fail "enroll through $quirk did not follow csrattrs"
  openssl verify -CAfile "$DATA/ca/root.pem" -untrusted "$DATA/ca/chain.pem" "e-$quirk/cert.pem" >/dev/null ||
    fail "enroll through $quirk: the certificate does not chain to the est-server root"

  expect_exit 0 "provision through $quirk" -- provision "$quirk" --require-csrattrs
  [[ ! -s err ]] || fail "provision through $quirk warned: $(cat err)"
  for thing in "pa-$quirk" "pb-$quirk"; do
    grep -q "^$thing  *enrolled " stdout || fail "provision through $quirk: $(cat stdout)"
    [[ $(key_curve "fleet-$quirk/$thing/private_key.pem") == P-384 ]] ||
      fail "provision through $quirk did not follow csrattrs for $thing"
  done

  expect_exit 0 "serverkeygen through $quirk" -- est_client serverkeygen --server "$PROXY/$quirk" \
    --ca-file anchors.pem --no-ra-check --cn "k-$quirk" --user alice --password-file "$WORK/password" \
    --key-out "k-$quirk/key.pem" --cert-out "k-$quirk/cert.pem"
  [[ $(openssl pkey -in "k-$quirk/key.pem" -pubout) == "$(openssl x509 -in "k-$quirk/cert.pem" -noout -pubkey)" ]] ||
    fail "serverkeygen through $quirk: key and certificate are not a pair"

  expect_exit 0 "cacerts through $quirk" -- est_client cacerts --server "$PROXY/$quirk" --ca-file anchors.pem \
    --no-ra-check
  [[ $(cert_count stdout) -ge 1 ]] || fail "cacerts through $quirk printed no certificate"
  expect_exit 0 "csrattrs through $quirk" -- est_client csrattrs --server "$PROXY/$quirk" --ca-file anchors.pem \
    --no-ra-check
  grep -q "secp384r1" stdout || fail "csrattrs through $quirk: $(cat stdout)"
done
pass "enroll, provision, serverkeygen, cacerts and csrattrs through every body form, csrattrs followed"

# --- csrattrs that fail: a warning, then the configuration's CSR; fatal on request --------------
declare -A reason=(
  [204]="has no csrattrs for this profile (204"
  [404]="the server refused csrattrs (404): Not Found"
  [501]="the server refused csrattrs (501): csrattrs is not implemented"
  [drop]=""
  [garbage]="the csrattrs response body is neither base64 nor DER"
  [notder]="the csrattrs response is not a valid DER CsrAttrs"
  [html]="the csrattrs response has Content-Type 'text/html', expected application/csrattrs"
)
for failure in 204 404 501 drop garbage notder html; do
  quirk=csrattrs-$failure
  expect_exit 0 "enroll through $quirk" -- enroll "$quirk" "e-$failure"
  [[ $(wc -l <err) -eq 1 ]] || fail "enroll through $quirk: not one line on stderr: $(cat err)"
  grep -q "^est-client: warning: ignoring the server's csrattrs, the CSR follows the configuration alone: .*${reason[$failure]}" err ||
    fail "enroll through $quirk: the warning: $(cat err)"
  [[ $(key_curve "e-$failure/key.pem") == P-256 ]] || fail "enroll through $quirk: not the configured key type"

  expect_exit 0 "provision through $quirk" -- provision "$quirk"
  [[ $(wc -l <err) -eq 1 ]] || fail "provision through $quirk: not one line on stderr: $(cat err)"
  grep -q "^est-client: warning: ignoring the server's csrattrs" err || fail "provision through $quirk: $(cat err)"
  grep -q "^pa-$quirk  *enrolled " stdout || fail "provision through $quirk: $(cat stdout)"

  expect_exit 1 "enroll --require-csrattrs through $quirk" -- enroll "$quirk" "r-$failure" --require-csrattrs
  grep -q "^est-client: csrattrs are required (--require-csrattrs): .*${reason[$failure]}" err ||
    fail "enroll --require-csrattrs through $quirk: $(cat err)"
  [[ ! -e r-$failure/key.pem && ! -e r-$failure/cert.pem ]] || fail "a refused enroll wrote files"
  rm -rf "fleet-$quirk"
  expect_exit 1 "provision --require-csrattrs through $quirk" -- provision "$quirk" --require-csrattrs
  grep -q "^est-client: csrattrs are required (--require-csrattrs): " err ||
    fail "provision --require-csrattrs through $quirk: $(cat err)"
  [[ ! -e fleet-$quirk/pa-$quirk ]] || fail "a refused provision wrote a device folder"
done
est_server things list --data "$DATA" --json | grep -q '"name": "r-' &&
  fail "a --require-csrattrs refusal enrolled a device"
pass "csrattrs 204/404/501/dropped/not base64/not DER/HTML: one warning line, enrolled as configured; --require-csrattrs refuses"

# --- an enrollment whose answer is lost ---------------------------------------------------------
# The server issues, the connection closes before the answer: the key made for the request was
# saved beside --key-out first, and the next run asks again with it and gets the same certificate.
expect_exit 1 "enroll whose answer is lost" -- enroll lost-answer lost
[[ ! -e lost/cert.pem && ! -e lost/key.pem ]] || fail "a lost answer left a key or certificate in place"
[[ $(stat -c %a lost/key.pem.lost.pending 2>/dev/null) == 600 ]] ||
  fail "the request's key was not saved 0600 before it was sent"
openssl pkey -in lost/key.pem.lost.pending -pubout >lost-pending.pub
expect_exit 0 "enroll again after the lost answer" -- enroll oneline lost
grep -q "reused the key of the pending request" err || fail "the saved key was not reused: $(cat err)"
[[ $(openssl x509 -in lost/cert.pem -noout -pubkey) == "$(cat lost-pending.pub)" ]] ||
  fail "the certificate is not for the key of the lost request"
[[ ! -e lost/key.pem.lost.pending ]] || fail "the saved request key was left behind"
[[ $(est_server certs list --thing lost --data "$DATA" --json | grep -c '"serial"') == 1 ]] ||
  fail "the repeated request issued a second certificate"
pass "a lost enrollment answer: the saved key is asked again and gets the same certificate, once"

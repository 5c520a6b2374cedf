#!/usr/bin/env bash
# Regenerates the committed seed corpora in fuzz/corpus/ with openssl (fresh keys each time, so
# rerun only to add seeds; the files are small and committed). Usage: fuzz/make_corpus.sh
set -euo pipefail
cd "$(dirname "$0")"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
c=corpus
# Inputs that once crashed a target (regression-*) are kept: they are tests, not seeds.
find "$c" -type f ! -name 'regression-*' -delete 2>/dev/null || true
mkdir -p "$c"/{fuzz_csr,fuzz_est_service,fuzz_http_request,fuzz_client_pkcs7,fuzz_client_csrattrs,fuzz_fleet_config,fuzz_policy}

iot_oid=2.25.231872403115171669323704536858287047134
attr_oid=2.25.231872403115171669323704536858287047135
legacy_oid=0.5.100.101.105.116.115
details='{"ThingName":"DeviceAlpha","Policies":{"Connect":true,"Publish":true,"Receive":null,"Subscribe":false},"Topics":{"Connect":{"Name1":"client/DeviceAlpha"},"Publish":{"Name1":"topic/sensors/DeviceAlpha/telemetry"},"Subscribe":{"Name1":"topicfilter/commands/DeviceAlpha"}}}'
p256=(-newkey ec -pkeyopt ec_paramgen_curve:P-256)

# csr NAME CN [openssl req args...]: base64 DER CSR (64-character lines) in $tmp/NAME.b64
csr() {
  local name=$1 cn=$2
  shift 2
  openssl req -new "$@" -nodes -keyout "$tmp/$name.key" -subj "/CN=$cn" -outform DER \
    -out "$tmp/$name.der" 2>/dev/null
  base64 -w 64 "$tmp/$name.der" >"$tmp/$name.b64"
}
csr ec DeviceAlpha "${p256[@]}"
csr rsa DeviceRsa -newkey rsa:2048
csr ed Device-Ed -newkey ed25519
csr iot DeviceAlpha "${p256[@]}" -addext "$iot_oid=ASN1:UTF8String:$details"
csr attrs DeviceAttrs "${p256[@]}" -addext "$attr_oid=ASN1:UTF8String:{\"Region\":\"eu-west-1\"}"
csr legacy DeviceAlpha "${p256[@]}" -addext "$legacy_oid=DER:$(printf '%s' "$details" | xxd -p | tr -d '\n')"
csr san DeviceSan "${p256[@]}" -addext subjectAltName=DNS:device.example,IP:192.0.2.7
# PoP: the challengePassword holds base64 of the fuzzer's fixed 32-byte channel binding (0x42s).
csr pop DevicePop "${p256[@]}" -addext "challengePassword=ASN1:UTF8String:QkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkI="

csr p384 DeviceP384 -newkey ec -pkeyopt ec_paramgen_curve:P-384
# The CSR parser builds EC keys from their bits: a compressed point, and a point off the curve (the
# last byte of the uncompressed point flipped), take their own branches.
openssl ecparam -name prime256v1 -genkey -noout -out "$tmp/p256.key"
openssl ec -in "$tmp/p256.key" -conv_form compressed -out "$tmp/compressed.key" 2>/dev/null
openssl req -new -key "$tmp/compressed.key" -subj /CN=DeviceCompressed -outform DER \
  -out "$tmp/ec-compressed.der" 2>/dev/null
base64 -w 64 "$tmp/ec-compressed.der" >"$tmp/ec-compressed.b64"
perl -0777 -pe 's/(\x03\x42\x00\x04.{63})(.)/$1.chr(ord($2)^1)/se' "$tmp/ec.der" >"$tmp/ec-off-curve.der"
base64 -w 64 "$tmp/ec-off-curve.der" >"$tmp/ec-off-curve.b64"

for n in ec rsa ed iot attrs legacy san pop p384 ec-compressed ec-off-curve; do
  cp "$tmp/$n.b64" "$c/fuzz_csr/$n"
done
openssl req -inform DER -in "$tmp/iot.der" -out "$c/fuzz_csr/iot-pem" 2>/dev/null

# The EST handler: "METHOD TARGET", headers, blank line, body (see fuzz_est_service.cpp).
auth="Authorization: Basic $(printf 'factory:secret' | base64)"
req() { # req FILE METHOD TARGET [body file] [extra header]
  local file=$1 method=$2 target=$3 body=${4:-} extra=${5:-}
  {
    printf '%s %s\n' "$method" "$target"
    if [[ -n $body ]]; then printf 'Content-Type: application/pkcs10\n%s\n' "$auth"; fi
    if [[ -n $extra ]]; then printf '%s\n' "$extra"; fi
    printf '\n'
    if [[ -n $body ]]; then cat "$body"; fi
  } >"$c/fuzz_est_service/$file"
}
s=/.well-known/est
req cacerts GET $s/cacerts
req csrattrs GET $s/csrattrs
req csrattrs-label GET $s/pop/csrattrs
req fullcmc POST $s/fullcmc
req enroll POST $s/simpleenroll "$tmp/ec.b64"
req enroll-iot POST $s/simpleenroll "$tmp/iot.b64"
req enroll-attrs POST $s/simpleenroll "$tmp/attrs.b64"
req enroll-legacy POST $s/manual/simpleenroll "$tmp/legacy.b64"
req enroll-pop POST $s/pop/simpleenroll "$tmp/pop.b64"
req enroll-tls12 POST $s/pop/simpleenroll "$tmp/ec.b64" "X-Fuzz-Tls: 12"
req reenroll POST $s/simplereenroll "$tmp/ec.b64"
req serverkeygen POST $s/serverkeygen "$tmp/rsa.b64"
openssl req -x509 -key "$tmp/ec.key" -subj /CN=DeviceAlpha -days 1 -outform DER -out "$tmp/self.der" 2>/dev/null
req idevid POST $s/idevid/simpleenroll "$tmp/ec.b64" "X-Fuzz-Peer-Cert: $(base64 -w0 "$tmp/self.der")"

# The HTTP parser: the first byte picks the read size, then the raw request.
http() { { printf '\x07'; printf "$2"; } >"$c/fuzz_http_request/$1"; }
http get 'GET /.well-known/est/cacerts HTTP/1.1\r\nHost: est.example\r\nAccept: */*\r\n\r\n'
http post 'POST /.well-known/est/simpleenroll HTTP/1.1\r\nHost: h\r\nContent-Type: application/pkcs10\r\nContent-Length: 8\r\n\r\nMIIBAAAA'
http continue 'POST /.well-known/est/f/simpleenroll HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\nabcd'
http smuggle 'POST /.well-known/est/simpleenroll HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n'
http two-lengths 'POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab'
http http10 'GET /.well-known/est/csrattrs HTTP/1.0\r\n\r\n'
http folded 'GET /x HTTP/1.1\r\nX-A: a\r\n b\r\n\r\n'

# Client responses: first byte = status/Content-Type selector (0: 200 certs-only).
openssl req -x509 -key "$tmp/ec.key" -subj /CN=Root -days 1 -out "$tmp/root.pem" 2>/dev/null
openssl crl2pkcs7 -nocrl -certfile "$tmp/root.pem" -outform DER -out "$tmp/p7.der"
{ printf '\x00'; base64 -w 64 "$tmp/p7.der"; } >"$c/fuzz_client_pkcs7/certs-only"
{ printf '\x08'; base64 -w 0 "$tmp/p7.der"; } >"$c/fuzz_client_pkcs7/certs-only-one-line"
{ printf '\x21'; printf '120'; } >"$c/fuzz_client_pkcs7/pending"
{ printf '\x21'; printf 'Sun, 06 Nov 1994 08:49:37 GMT'; } >"$c/fuzz_client_pkcs7/pending-date"
{ printf '\x03'; printf 'the CSR is not base64\n'; } >"$c/fuzz_client_pkcs7/refused"

# csrattrs (RFC 7030 §4.5.2 DER).
asn() { openssl asn1parse -genconf "$tmp/$1.cnf" -out "$c/fuzz_client_csrattrs/$1" >/dev/null; }
cat >"$tmp/ec-attrs.cnf" <<'CNF'
asn1 = SEQUENCE:attrs
[attrs]
pw = OID:challengePassword
key = SEQUENCE:key
ext = SEQUENCE:ext
hash = OID:ecdsa-with-SHA256
[key]
type = OID:id-ecPublicKey
curves = SET:curves
[curves]
c = OID:prime256v1
[ext]
type = OID:1.2.840.113549.1.9.14
ids = SET:ids
[ids]
a = OID:2.25.231872403115171669323704536858287047134
b = OID:subjectAltName
CNF
asn ec-attrs
cat >"$tmp/rsa-attrs.cnf" <<'CNF'
asn1 = SEQUENCE:attrs
[attrs]
key = SEQUENCE:key
[key]
type = OID:rsaEncryption
sizes = SET:sizes
[sizes]
n = INTEGER:3072
CNF
asn rsa-attrs
printf '\x30\x00' >"$c/fuzz_client_csrattrs/empty-sequence"

# Fleet configs and policies.
cp ../examples/client_config.json "$c/fuzz_fleet_config/example"
cat >"$c/fuzz_fleet_config/options" <<'JSON'
{"ESTDetails":{"ESTAPIURL":"https://est.example:8443/factory","KV_Name":"file:secret.txt","TrustAnchor":"root.pem","RenewalThreshold":"7d"},
 "Devices":[{"KeyType":"rsa-3072","IoTDetails":{"ThingName":"d1","Policies":{"Connect":true},"Topics":{"Connect":{"Name1":"d1"}}}}]}
JSON
printf '%s' "$details" >"$c/fuzz_policy/iot-details"
cat >"$c/fuzz_policy/document" <<'JSON'
{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["iot:Connect"],"Resource":["client/${iot:Connection.Thing.ThingName}"]},{"Effect":"Deny","Action":"iot:Publish","Resource":"topic/sensors/*/secret"},{"Effect":"Allow","Action":["iot:Publish","iot:Receive"],"Resource":["topic/sensors/${iot:Connection.Thing.ThingName}/*"]},{"Effect":"Allow","Action":"iot:Subscribe","Resource":"topicfilter/commands/?"}]}
JSON
printf 'topic/sensors/*/t?\ntopic/sensors/DeviceAlpha/t1' >"$c/fuzz_policy/glob"
printf 'client/${ThingName}\nDeviceAlpha' >"$c/fuzz_policy/variable"
echo "corpora:"; for d in "$c"/*; do echo "  $d: $(ls "$d" | wc -l) files, $(du -sk "$d" | cut -f1) KiB"; done

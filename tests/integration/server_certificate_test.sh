#!/usr/bin/env bash
# The EST server's own TLS certificate, as a data folder from before id-kp-cmcRA has it (made
# here by openssl with the data folder's issuing key, serverAuth only): est-client refuses it
# (it could be the broker's), `serve` renews it at start with the same key, subject and names and
# the mark, and est-client then enrolls. A certificate of another CA (the operator's own) is left
# alone, with a warning in the log.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"
init_data
cd "$WORK"
root=$DATA/ca/root.pem
has_mark() { openssl x509 -in "$1" -noout -ext extendedKeyUsage | grep -q 'CMC Registration Authority\|1.3.6.1.5.5.7.3.28'; }
has_mark "$DATA/tls/server.pem" || fail "init did not mark the EST server's certificate"

# --- a server certificate from before the mark ---------------------------------------------------
openssl x509 -in "$DATA/tls/server.pem" -out init-leaf.pem
printf 'subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1\nextendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature\n' >old.ext
openssl x509 -x509toreq -in init-leaf.pem -signkey "$DATA/tls/server.key" -out old.csr 2>/dev/null ||
  fail "openssl: a request from the server's key"
openssl x509 -req -in old.csr -CA "$DATA/ca/issuing.pem" -CAkey "$DATA/ca/issuing.key" \
  -set_serial "0x$(openssl rand -hex 12)" -days 30 -extfile old.ext -out old-leaf.pem 2>/dev/null ||
  fail "openssl: the old-style server certificate"
has_mark old-leaf.pem && fail "the old-style certificate carries the mark"
cat old-leaf.pem "$DATA/ca/issuing.pem" >"$DATA/tls/server.pem"
old_serial=$(openssl x509 -in old-leaf.pem -noout -serial)

# What a device meets when such a certificate is served (here by openssl, the server being down).
start_s_server old-leaf.pem "$DATA/ca/issuing.pem" "$DATA/tls/server.key"
expect_exit 1 "est-client against the unmarked certificate" -- est_client cacerts \
  --server "https://localhost:$S_SERVER_PORT" --ca-file "$root"
grep -q "lacks id-kp-cmcRA" err || fail "est-client did not name the missing mark: $(cat err)"
stop_s_server
pass "est-client refuses a server certificate without id-kp-cmcRA"

# --- serve renews it at start --------------------------------------------------------------------
start_server
has_mark "$DATA/tls/server.pem" || fail "serve did not renew the unmarked certificate"
new_serial=$(openssl x509 -in "$DATA/tls/server.pem" -noout -serial)
[[ $new_serial != "$old_serial" ]] || fail "the renewed certificate kept the old serial"
[[ $(openssl x509 -in "$DATA/tls/server.pem" -noout -subject) == "$(openssl x509 -in old-leaf.pem -noout -subject)" ]] ||
  fail "the renewed certificate has another subject"
[[ $(openssl x509 -in "$DATA/tls/server.pem" -noout -ext subjectAltName) == "$(openssl x509 -in old-leaf.pem -noout -ext subjectAltName)" ]] ||
  fail "the renewed certificate has other names"
[[ $(openssl x509 -in "$DATA/tls/server.pem" -noout -pubkey) == "$(openssl pkey -in "$DATA/tls/server.key" -pubout)" ]] ||
  fail "the renewed certificate is not for the server's key"
openssl verify -CAfile "$root" -untrusted "$DATA/ca/chain.pem" "$DATA/tls/server.pem" >/dev/null ||
  fail "the renewed certificate does not chain to the root"
grep -q "TLS server certificate renewed as serial .* because it lacks id-kp-cmcRA" "$WORK/server.log" ||
  fail "the renewal is not in the log"
# Served from the first connection on, and est-client enrolls through it.
served=$(openssl s_client -connect "127.0.0.1:$PORT" -servername localhost </dev/null 2>/dev/null |
  openssl x509 -noout -serial)
[[ $served == "$new_serial" ]] || fail "the server presents $served, not the renewed $new_serial"
expect_exit 0 "est-client enroll after the renewal" -- est_client enroll --server "$URL" \
  --ca-file "$root" --cn after-renewal --user alice --password-file "$WORK/password" \
  --key-out after.key --cert-out after.pem
pass "serve renews an unmarked certificate at start (same key, subject, names) and serves it"

# --- another CA's certificate is the operator's: left alone, with a warning ---------------------
kill -TERM "$SERVER_PID"
wait "$SERVER_PID" 2>/dev/null || true
SERVER_PID=
openssl req -x509 -key "$DATA/tls/server.key" -subj /CN=localhost -days 10 \
  -addext subjectAltName=DNS:localhost,IP:127.0.0.1 -addext extendedKeyUsage=serverAuth \
  -out "$DATA/tls/server.pem" 2>/dev/null || fail "openssl: the operator's own certificate"
cp "$DATA/tls/server.pem" operator.pem
start_server
cmp -s operator.pem "$DATA/tls/server.pem" || fail "serve replaced the operator's own certificate"
grep -q "is not renewed by est-server: it lacks id-kp-cmcRA, so est-client accepts it only with --no-ra-check; it expires on" \
  "$WORK/server.log" || fail "no warning about the operator's certificate: $(tail -5 "$WORK/server.log")"
expect_exit 0 "est-client --no-ra-check with the operator's certificate" -- est_client cacerts \
  --server "$URL" --ca-file operator.pem --no-ra-check
pass "another CA's certificate is left alone, with a warning naming --no-ra-check and its expiry"

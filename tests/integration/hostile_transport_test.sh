#!/usr/bin/env bash
# Hostile clients at the transport, against the real binary over real sockets: slow-loris headers
# and bodies, stalled TLS handshakes, oversized headers and bodies, a connection flood beyond
# max_connections, request smuggling shapes and path traversal. Each is refused or cut off by its
# own limit, changes nothing in the registry, and the server enrolls correctly right after.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"
# shellcheck source=tests/integration/hostile_lib.sh
source "$(dirname "$0")/hostile_lib.sh"
hostile_setup

# --- deadlines (handshake 2 s, headers 2 s, body 3 s, set by hostile_setup) --------------------
# A byte every half second must not stretch the header deadline: it runs from the first byte.
"${HOSTILE[@]}" slow-headers --low 1.5 --high 4 >elapsed || fail "slow headers"
refused_cleanly "slow-loris headers: closed after $(cat elapsed) s (header_timeout 2s)"
"${HOSTILE[@]}" slow-body --low 2.5 --high 5 >elapsed || fail "slow body"
refused_cleanly "slow-loris body: closed after $(cat elapsed) s (body_timeout 3s)"
"${HOSTILE[@]}" stalled-handshake --low 1.5 --high 4 >elapsed || fail "silent connection"
refused_cleanly "a TCP connection that never starts TLS: closed after $(cat elapsed) s (handshake_timeout 2s)"
"${HOSTILE[@]}" stalled-handshake --partial --low 1.5 --high 4 >elapsed || fail "half a ClientHello"
refused_cleanly "half a ClientHello, then silence: closed after $(cat elapsed) s"

# --- sizes (max_header_bytes 8192, max_body_bytes 65536) ---------------------------------------
{
  printf 'GET /.well-known/est/cacerts HTTP/1.1\r\nHost: localhost\r\nX-Padding: '
  head -c 9000 /dev/zero | tr '\0' a
  printf '\r\n\r\n'
} >big-header.req
raw_request big-header.req
expect_answer 431 "headers are larger than this server accepts"
refused_cleanly "9000 bytes of headers: 431"

head -c 70000 /dev/zero | tr '\0' A >big-body.b64
post_body big-body.b64
expect_answer 413 "body is larger than this server accepts"
refused_cleanly "a 70000-byte body: 413"

{
  printf 'POST /.well-known/est/simpleenroll HTTP/1.1\r\nHost: localhost\r\n'
  printf 'Content-Type: application/pkcs10\r\nContent-Length: 100000000\r\n\r\nAAAA'
} >declared-huge.req
raw_request declared-huge.req
expect_answer 413 "body is larger than this server accepts"
refused_cleanly "Content-Length: 100000000 (refused from the header, nothing read): 413"

# --- request smuggling shapes ------------------------------------------------------------------
smuggle() { # smuggle NAME HEADER-LINES...: a POST with these framing headers and a small body
  local file=$1
  shift
  {
    printf 'POST /.well-known/est/simpleenroll HTTP/1.1\r\nHost: localhost\r\n'
    printf 'Content-Type: application/pkcs10\r\n'
    printf '%s\r\n' "$@"
    printf '\r\n5\r\nAAAA=\r\n0\r\n\r\n'
  } >"$file"
}
smuggle cl-te.req 'Content-Length: 12' 'Transfer-Encoding: chunked'
raw_request cl-te.req
expect_answer 400 "malformed or ambiguous"
refused_cleanly "Content-Length with Transfer-Encoding: 400"
smuggle dup-cl.req 'Content-Length: 12' 'Content-Length: 12'
raw_request dup-cl.req
expect_answer 400 "malformed or ambiguous"
refused_cleanly "Content-Length twice (equal): 400"
smuggle diff-cl.req 'Content-Length: 12' 'Content-Length: 5'
raw_request diff-cl.req
expect_answer 400 "malformed or ambiguous"
refused_cleanly "Content-Length twice (differing): 400"
# Chunked alone is a framing real clients use (Go's): it is read, and the request then meets the
# same checks as any other — here, no credentials.
smuggle te-only.req 'Transfer-Encoding: chunked'
raw_request te-only.req
expect_answer 401 "credentials"
refused_cleanly "Transfer-Encoding: chunked alone is read, then refused for no credentials: 401"
smuggle te-gzip.req 'Transfer-Encoding: gzip, chunked'
raw_request te-gzip.req
expect_answer 501 "only transfer coding this server accepts is chunked"
refused_cleanly "Transfer-Encoding: gzip, chunked: 501"
{
  printf 'POST /.well-known/est/simpleenroll HTTP/1.1\r\nHost: localhost\r\n'
  printf 'Content-Type: application/pkcs10\r\nTransfer-Encoding: chunked\r\n\r\n'
  for _ in $(seq 70); do
    printf '400\r\n'
    head -c 1024 /dev/zero | tr '\0' A
    printf '\r\n'
  done
  printf '0\r\n\r\n'
} >big-chunked.req
raw_request big-chunked.req
expect_answer 413 "body is larger than this server accepts"
refused_cleanly "a chunked body of 70 KiB decoded: 413"
smuggle te-obfuscated.req 'Content-Length: 12' 'Transfer-Encoding: xchunked'
raw_request te-obfuscated.req
expect_answer 400 "malformed or ambiguous"
refused_cleanly "Content-Length with an unknown Transfer-Encoding: 400"
printf 'POST /.well-known/est/simpleenroll HTTP/1.1\r\nHost: localhost\r\nContent-Length: 1x\r\n\r\nA' >bad-cl.req
raw_request bad-cl.req
expect_answer 400 "malformed or ambiguous"
refused_cleanly "a Content-Length that is not a number: 400"

# --- path traversal and odd labels -------------------------------------------------------------
traversal() { # traversal TARGET: a POST to TARGET must be a 404 that names no resource
  printf 'POST %s HTTP/1.1\r\nHost: localhost\r\nAuthorization: Basic %s\r\nContent-Type: application/pkcs10\r\nContent-Length: 4\r\nConnection: close\r\n\r\nAAAA' \
    "$1" "$(printf 'alice:%s' "$PASSWORD" | base64)" >traversal.req
  raw_request traversal.req
}
for target in /.well-known/est/../x /.well-known/est/../../etc/passwd \
  /.well-known/est/%2e%2e/simpleenroll /.well-known/est/a%2Fb/simpleenroll \
  /.well-known/est/a/b/simpleenroll /.well-known/est/..%2fsimpleenroll \
  '/.well-known/est/default%00/simpleenroll' /.well-known/est//simpleenroll \
  /.well-known/est/default/../simpleenroll; do
  traversal "$target"
  case $(cat "$WORK/status") in
    404) expect_answer 404 "no EST resource at this path" ;;
    400) expect_answer 400 "malformed" ;;
    *) fail "$target: expected 404 or 400, got $(cat "$WORK/status"): $(cat "$WORK/body")" ;;
  esac
done
refused_cleanly "path traversal and encoded separators in labels: 404 (no resource), nothing enrolled"

# --- a flood of connections beyond max_connections (20) ----------------------------------------
"${HOSTILE[@]}" flood --count 30 --expect-held 20 >flood.txt || fail "connection flood"
# The held connections are gone once the flood ends; the server forgets them as it reads EOF.
deadline=$((SECONDS + 10))
until curl -sS --max-time 5 --cacert "$ROOT" -o /dev/null "$EST/cacerts" 2>/dev/null; do
  ((SECONDS < deadline)) || fail "the server did not accept connections again after the flood"
  sleep 0.2
done
refused_cleanly "30 connections against max_connections = 20: $(cat flood.txt), the held ones still answer"

grep -q 'est-server listening' "$WORK/server.log" || fail "the server log lost its start line"
if grep -qiE 'terminate|abort|segmentation' "$WORK/server.log"; then
  fail "the server log shows a crash"
fi
pass "the server survived every hostile transport shape"

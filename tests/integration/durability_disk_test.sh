#!/usr/bin/env bash
# A registry that cannot be written: enrollment answers 503 with the reason, nothing is issued
# that the registry does not hold, and enrollment works again once writing does.
#  1. Disk full without privileges: the server runs under RLIMIT_FSIZE (`ulimit -f`), so the
#     registry's WAL cannot grow past a few hundred KiB (EFBIG; the server ignores SIGXFSZ); then
#     `prlimit` lifts the limit on the running server.
#  2. With mount rights (root; skipped with the reason otherwise): the data folder on a small
#     tmpfs that a filler file makes really full (ENOSPC), space coming back while the server
#     runs; then the folder read-only (EROFS) when the server starts: it refuses to start.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"
cd "$WORK"
MOUNT=

cleanup_disk() {
  if [[ -n $SERVER_PID ]]; then
    kill -KILL "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=
  fi
  if [[ -n $MOUNT ]]; then
    umount "$MOUNT" 2>/dev/null || true
  fi
  cleanup
}
trap cleanup_disk EXIT

# serve_limited [ulimit args]: start_server under these limits, with the log written by a helper
# process (the server itself may not be able to write it).
serve_limited() {
  rm -f "$WORK/port"
  (
    ulimit "$@"
    exec "$EST_SERVER" serve --data "$DATA" --listen 127.0.0.1:0 --port-file "$WORK/port"
  ) > >(cat >>"$WORK/server.log") 2>&1 &
  SERVER_PID=$!
  await_listening "$SERVER_PID" "$WORK/port"
  PORT=$(cat "$WORK/port")
}

# enroll NAME: one curl enrollment as alice; sets status, the body in $WORK/body.
enroll() {
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$1.key" \
    -subj "/CN=$1" -outform DER 2>/dev/null | base64 >"$1.b64"
  status=$(curl -sS --max-time "$COMMAND_TIMEOUT" --cacert "$DATA/ca/root.pem" -u "alice:$PASSWORD" \
    -H 'Content-Type: application/pkcs10' --data-binary "@$1.b64" -o "$WORK/body" -w '%{http_code}' \
    "https://127.0.0.1:$PORT/.well-known/est/simpleenroll" 2>"$WORK/curl.err") || true
  if [[ $status == 200 ]]; then
    base64 -d "$WORK/body" | openssl pkcs7 -inform DER -print_certs 2>/dev/null |
      openssl x509 -noout -serial | sed 's/^serial=//' >>answered-serials.txt
  fi
}

# registry_consistent WHAT: the registry holds exactly the certificates that were answered 200,
# each with its issuance audit row, and SQLite's integrity check passes.
registry_consistent() {
  est_server certs list --data "$DATA" --json | python3 -c '
import json, sys
for cert in json.load(sys.stdin):
    print(cert["serial"].upper())' | sort >registry-serials.txt
  sort answered-serials.txt | tr '[:lower:]' '[:upper:]' >answered-sorted.txt
  cmp -s registry-serials.txt answered-sorted.txt ||
    fail "$1: the registry and the answered certificates differ: $(diff answered-sorted.txt registry-serials.txt | head)"
  local audited
  audited=$(est_server audit export --data "$DATA" --json | grep -c '"operation":"simpleenroll".*"result":"ok"' || true)
  [[ $audited == $(wc -l <registry-serials.txt) ]] ||
    fail "$1: $audited issuance audit rows for $(wc -l <registry-serials.txt) certificates"
  [[ $(sqlite3 "$DATA/registry.db" 'PRAGMA integrity_check') == ok ]] || fail "$1: integrity_check"
}

# fill_until_503 PREFIX: enrolls PREFIX-1, -2, ... until one is refused; it must be a 503 that
# says the registry is unavailable and nothing was issued.
fill_until_503() {
  local i=0
  while ((i < 400)); do
    i=$((i + 1))
    enroll "$1-$i"
    [[ $status == 200 ]] && continue
    [[ $status == 503 ]] || fail "$1-$i: expected 200 or 503, got $status: $(cat "$WORK/body")"
    grep -q "the registry is unavailable, nothing was issued" "$WORK/body" ||
      fail "$1: the 503 does not say why: $(cat "$WORK/body")"
    reason=$(head -n 1 "$WORK/body")
    return 0
  done
  fail "$1: 400 enrollments never hit the limit"
}

init_data
: >answered-serials.txt

# --- 1. RLIMIT_FSIZE: the unprivileged way to a full disk ---------------------------------------
db_kib=$(($(stat -c %s "$DATA/registry.db") / 1024))
serve_limited -S -f $((db_kib + 256))
fill_until_503 full
kill -0 "$SERVER_PID" || fail "the server died at the file size limit (SIGXFSZ not ignored?)"
enroll full-again
[[ $status == 503 ]] || fail "a second enrollment while full: $status"
registry_consistent "while the file size limit holds"
pass "a full registry (RLIMIT_FSIZE): 503 '$reason'; nothing issued unrecorded"

prlimit --pid "$SERVER_PID" --fsize=unlimited: || fail "prlimit cannot lift the limit"
enroll recovered
[[ $status == 200 ]] || fail "after the limit was lifted: $status $(cat "$WORK/body")"
registry_consistent "after the limit was lifted"
pass "with the limit lifted the running server enrolls again, and the registry holds exactly what was answered"
kill -TERM "$SERVER_PID"
wait "$SERVER_PID" 2>/dev/null || true
SERVER_PID=

# --- 2. a real file system: ENOSPC and read-only ---------------------------------------------
MOUNT=$WORK/mnt
mkdir -p "$MOUNT"
if ! mount -t tmpfs -o size=8m tmpfs "$MOUNT" 2>"$WORK/mount.err"; then
  MOUNT=
  echo "skip: ENOSPC and read-only need a tmpfs mount, which this user may not do ($(head -n 1 "$WORK/mount.err"))"
  exit 0
fi
cp -a "$DATA" "$MOUNT/data"
DATA=$MOUNT/data
serve_limited -S -f unlimited
enroll on-tmpfs
[[ $status == 200 ]] || fail "enrollment on the tmpfs: $status $(cat "$WORK/body")"
# Fill the file system, leaving less than one enrollment's worth of pages.
dd if=/dev/zero of="$MOUNT/filler" bs=64k 2>/dev/null || true
fill_until_503 enospc
registry_consistent "with the file system full"
pass "a full file system (ENOSPC): 503 '$reason'"
rm -f "$MOUNT/filler"
enroll space-back
[[ $status == 200 ]] || fail "after space came back: $status $(cat "$WORK/body")"
registry_consistent "after space came back"
pass "space back: the running server enrolls again"

# Read-only: the kernel refuses to remount a file system read-only while the server holds files
# on it open for writing, so this is the data folder read-only when the server starts: it refuses
# to start, naming the file and the reason, rather than serving without a registry.
kill -TERM "$SERVER_PID"
wait "$SERVER_PID" 2>/dev/null || true
SERVER_PID=
mount -o remount,ro "$MOUNT" || fail "remount read-only"
expect_exit 1 "serve on a read-only data folder" -- \
  est_server serve --data "$DATA" --listen 127.0.0.1:0
grep -q "Read-only file system" "$WORK/err" || fail "the refusal does not say why: $(cat "$WORK/err")"
mount -o remount,rw "$MOUNT" || fail "remount read-write"
registry_consistent "after a start on a read-only folder"
pass "a read-only data folder: serve refuses to start ('$(head -n 1 "$WORK/err")')"
serve_limited -S -f unlimited
enroll writable-again
[[ $status == 200 ]] || fail "after the remount read-write: $status $(cat "$WORK/body")"
registry_consistent "after the remount read-write"
pass "writable again: the server starts and enrolls"

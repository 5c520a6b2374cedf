#!/usr/bin/env bash
# Rotation on the device: certificates valid for 8 s, `est-client renew --watch` renews each
# device at half its lifetime. A reader checking every ~100 ms never finds a missing file or a key
# and certificate that are not a pair; the registry holds the chain of supersession; the watch
# survives the server being down; SIGTERM stops it cleanly; an expired certificate is refused with
# a clear message and its files are left alone.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"
: "${EST_EXAMPLES:?EST_EXAMPLES must point at the examples folder}"
init_data
# Certificates for seconds, with no backdating, so that a whole lifetime fits into the test.
sed -i 's/^validity = "365d"/validity = "8s"/; s/^backdate = "5m"/backdate = "0s"/' "$DATA/est-server.toml"
grep -q '^validity = "8s"' "$DATA/est-server.toml" || fail "could not set the profile's validity"
grep -q '^backdate = "0s"' "$DATA/est-server.toml" || fail "could not set the profile's backdate"
start_server
cd "$WORK"
root=$DATA/ca/root.pem
config=$EST_EXAMPLES/client_config.json
things=(DeviceAlpha DeviceBeta)
EST_FLEET_SECRET=$(est_server fleet secret --data "$DATA") || fail "fleet secret"
export EST_FLEET_SECRET
WATCH_PID=
CHECKER_PID=
stop_background() {
  [[ -n $WATCH_PID ]] && kill -TERM "$WATCH_PID" 2>/dev/null && wait "$WATCH_PID" 2>/dev/null
  [[ -n $CHECKER_PID ]] && kill -TERM "$CHECKER_PID" 2>/dev/null && wait "$CHECKER_PID" 2>/dev/null
  cleanup
}
trap stop_background EXIT

est_client provision --config "$config" --out out --server "$URL" --ca-file "$root" >provision.txt ||
  fail "provisioning: $(cat provision.txt)"

serial_of() { openssl x509 -in "out/$1/certificate.pem" -noout -serial 2>/dev/null | cut -d= -f2; }

# --- usage errors: exit 2, nothing sent ---------------------------------------------------------
expect_exit 2 "renew without --config or --cert" -- est_client renew --out out --server "$URL"
expect_exit 2 "--cert without --key" -- est_client renew --cert out/DeviceAlpha/certificate.pem --server "$URL" --ca-file "$root"
expect_exit 2 "a threshold of 100%" -- est_client renew --config "$config" --out out --threshold 100%
grep -q "'100%' is not a whole percentage from 1% to 99%" "$WORK/err" || fail "threshold message: $(cat "$WORK/err")"
# One combined PEM as --cert and --key (or one file as --out-cert and --out-key): the key and the
# certificate would be written over each other and the new key lost. Refused before anything is sent.
alpha=out/DeviceAlpha
cat "$alpha/certificate.pem" "$alpha/private_key.pem" >combined.pem
combined_sum=$(sha256sum <combined.pem)
expect_exit 2 "renew --cert F --key F" -- est_client renew --cert combined.pem --key combined.pem \
  --server "$URL" --ca-file "$root" --now
grep -q -- '--cert and --key name the same file' "$WORK/err" || fail "same-file message: $(cat "$WORK/err")"
[[ $(sha256sum <combined.pem) == "$combined_sum" ]] || fail "a refused renewal changed the combined PEM"
ln -s new-pair.pem new-link.pem
expect_exit 2 "renew --out-cert X --out-key X" -- est_client renew --cert "$alpha/certificate.pem" \
  --key "$alpha/private_key.pem" --server "$URL" --ca-file "$root" --now \
  --out-cert new-link.pem --out-key ./new-pair.pem
grep -q -- '--out-cert and --out-key name the same file' "$WORK/err" || fail "same-file message: $(cat "$WORK/err")"
[[ ! -e new-pair.pem ]] || fail "a refused renewal wrote a file"
est_client renew --config "$config" --out out --server "$URL" --ca-file "$root" >oneshot.txt ||
  fail "renew before the threshold: $(cat oneshot.txt)"
grep -q '0 renewed, 2 skipped, 0 pending, 0 failed' oneshot.txt || fail "renew renewed too early: $(cat oneshot.txt)"
pass "usage errors (one file named twice too) exit 2; before the threshold renew skips both devices"

# --- the pair checker: every ~100 ms, each device's key and certificate must be a pair ----------
# A reader that opens the two names one after the other may straddle a swap of `current`; it
# accepts what it read only if `current` did not change meanwhile (docs/client.md).
checker() {
  local thing dir before after key cert
  while [[ ! -e stop_checker ]]; do
    for thing in "${things[@]}"; do
      dir=out/$thing
      before=$(readlink "$dir/current" || true)
      key=$(openssl pkey -in "$dir/private_key.pem" -pubout 2>&1) || { echo "$thing: key unreadable: $key" >>problems; continue; }
      cert=$(openssl x509 -in "$dir/certificate.pem" -noout -pubkey 2>&1) || { echo "$thing: certificate unreadable: $cert" >>problems; continue; }
      after=$(readlink "$dir/current" || true)
      if [[ $before == "$after" && $key != "$cert" ]]; then
        echo "$thing: key and certificate are not a pair in ${before:-plain files}" >>problems
      fi
      echo "$thing" >>checks
    done
    sleep 0.1
  done
}
: >problems
: >checks
checker &
CHECKER_PID=$!

"$EST_CLIENT" renew --config "$config" --out out --server "$URL" --ca-file "$root" --watch \
  --threshold 50% --retry-min 1s --retry-max 30s >watch.log 2>&1 &
WATCH_PID=$!

# Each device's serials in the order they appeared on disk.
declare -A seen
for thing in "${things[@]}"; do seen[$thing]=$(serial_of "$thing"); done
# wait_rotations N SECONDS: until every device has shown N+1 serials.
wait_rotations() {
  local want=$1 deadline=$((SECONDS + $2)) thing serial done_all
  while true; do
    done_all=1
    for thing in "${things[@]}"; do
      serial=$(serial_of "$thing")
      if [[ -n $serial && " ${seen[$thing]} " != *" $serial "* ]]; then
        seen[$thing]="${seen[$thing]} $serial"
      fi
      (($(wc -w <<<"${seen[$thing]}") > want)) || done_all=0
    done
    ((done_all)) && return 0
    kill -0 "$WATCH_PID" 2>/dev/null || fail "the watch exited: $(cat watch.log)"
    ((SECONDS < deadline)) || fail "fewer than $want rotations within $2 s: ${seen[*]}; $(cat watch.log)"
    sleep 0.1
  done
}
wait_rotations 2 20
pass "two rotations of each device observed: ${seen[DeviceAlpha]} / ${seen[DeviceBeta]}"

# The registry holds the chain: each serial seen replaces the one before it, which is superseded.
for thing in "${things[@]}"; do
  est_server certs list --thing "$thing" --data "$DATA" --json >certs.json || fail "certs list"
  awk '/"replaces":/ { r = $2 } /"serial":/ { print r, $2 }' certs.json | tr -d '",' >chain.txt
  read -r -a serials <<<"${seen[$thing]}"
  for ((i = 1; i < ${#serials[@]}; i++)); do
    grep -qx "${serials[i - 1]} ${serials[i]}" chain.txt ||
      fail "$thing: the registry does not record ${serials[i]} as replacing ${serials[i - 1]}: $(cat chain.txt)"
  done
  est_server certs list --thing "$thing" --data "$DATA" | grep -q "^${serials[0]} .* superseded " ||
    fail "$thing: the first certificate is not superseded"
done
pass "the registry records the chain of supersession"

# --- the server goes away and comes back --------------------------------------------------------
kill -TERM "$SERVER_PID"
wait "$SERVER_PID" 2>/dev/null || true
SERVER_PID=
retries_before=$(grep -c ' retry next=' watch.log || true)
deadline=$((SECONDS + 10))
until (($(grep -c ' retry next=' watch.log || true) > retries_before)); do
  ((SECONDS < deadline)) || fail "the watch logged no retry while the server was down: $(cat watch.log)"
  sleep 0.1
done
grep ' retry next=' watch.log | tail -n 1 | grep -q 'Connection refused\|connect' ||
  fail "the retry does not say the server is unreachable: $(grep ' retry ' watch.log | tail -n 1)"
rm -f port
"$EST_SERVER" serve --data "$DATA" --listen "127.0.0.1:$PORT" --port-file "$WORK/port" >>server.log 2>&1 &
SERVER_PID=$!
deadline=$((SECONDS + 10))
until [[ -s port ]]; do
  ((SECONDS < deadline)) || fail "est-server did not come back on port $PORT"
  sleep 0.05
done
wait_rotations 3 10
pass "the watch retried while the server was down and renewed once it was back"

kill -TERM "$WATCH_PID"
status=0
wait "$WATCH_PID" || status=$?
WATCH_PID=
[[ $status == 0 ]] || fail "the watch exited $status on SIGTERM: $(tail -n 5 watch.log)"
grep -q 'stopping on SIGTERM' watch.log || fail "the watch did not log its stop: $(tail -n 3 watch.log)"
touch stop_checker
wait "$CHECKER_PID" || true
CHECKER_PID=
[[ ! -s problems ]] || fail "the pair checker found problems: $(head -n 5 problems)"
(($(wc -l <checks) >= 20)) || fail "the pair checker ran only $(wc -l <checks) checks"
pass "SIGTERM stops the watch cleanly; $(wc -l <checks) pair checks, never a missing file or a mismatch"

# --- one device, in place -----------------------------------------------------------------------
before=$(serial_of DeviceBeta)
est_client renew --cert out/DeviceBeta/certificate.pem --key out/DeviceBeta/private_key.pem \
  --server "$URL" --ca-file "$root" --now >single.txt || fail "renew --cert: $(cat single.txt)"
after=$(serial_of DeviceBeta)
[[ $after != "$before" ]] || fail "renew --cert did not replace the certificate"
grep -q "^DeviceBeta  *renewed  *$after " single.txt || fail "renew --cert summary: $(cat single.txt)"
[[ $(openssl x509 -in out/DeviceBeta/certificate.pem.prev -noout -serial | cut -d= -f2) == "$before" ]] ||
  fail "certificate.pem.prev is not the previous certificate"
[[ $(openssl pkey -in out/DeviceBeta/private_key.pem -pubout) == "$(openssl x509 -in out/DeviceBeta/certificate.pem -noout -pubkey)" ]] ||
  fail "renew --cert left a mismatched pair"
[[ $(stat -L -c %a out/DeviceBeta/private_key.pem) == 600 ]] || fail "the renewed key is not 0600"
pass "renew --cert/--key renews one device in place and keeps the previous pair as .prev"

# --- an expired certificate ---------------------------------------------------------------------
mkdir -p expired/DeviceAlpha
cp -L out/DeviceAlpha/private_key.pem.prev expired/DeviceAlpha/private_key.pem
cp -L out/DeviceAlpha/certificate.pem.prev expired/DeviceAlpha/certificate.pem
cp -L out/DeviceAlpha/root_ca.pem expired/DeviceAlpha/root_ca.pem
deadline=$((SECONDS + 10))
until ! openssl x509 -in expired/DeviceAlpha/certificate.pem -noout -checkend 0 >/dev/null; do
  ((SECONDS < deadline)) || fail "the old certificate did not expire"
  sleep 0.2
done
snapshot() { (cd expired && find . -printf '%p %m %s\n' | sort && find . -type f -exec sha256sum {} + | sort); }
snapshot >expired_before.txt
expect_exit 1 "renewing an expired certificate" -- est_client renew --config "$config" --out expired --server "$URL" --ca-file "$root"
grep -q "^DeviceAlpha  *failed .*expired at .*can no longer authenticate a renewal over mTLS: enroll the device again with its bootstrap credentials (est-client provision --force); nothing was changed" "$WORK/stdout" ||
  fail "the expired message: $(cat "$WORK/stdout")"
grep -q "^DeviceBeta  *failed .*enroll the device first (est-client provision)" "$WORK/stdout" ||
  fail "a device without files: $(cat "$WORK/stdout")"
snapshot >expired_after.txt
cmp -s expired_before.txt expired_after.txt || fail "files changed: $(diff expired_before.txt expired_after.txt)"
pass "an expired certificate is refused with the way out (provision --force) and nothing changes"

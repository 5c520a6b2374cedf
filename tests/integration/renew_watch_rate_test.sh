#!/usr/bin/env bash
# `est-client renew --watch` does not storm the server (issue 18, point 7). Certificates valid for
# 40 s, notBefore backdated 10 s (the most a profile may backdate: a quarter of its validity), and
# the threshold 20%. Counted from notBefore, 20% of the 50 s between notBefore and notAfter is
# reached the moment each certificate arrives, so each renewed certificate was due at once and the
# watch renewed in a loop; counted from issuance it is due 8 s after it arrives. Two devices
# watched for 30 s then renew every ~8 s: at most 4 each, 8 in all, counted in the audit log.
# Then the threshold 1%: due 0.4 s after arrival, before the renewal floor (10% of 40 s = 4 s),
# which is a misconfiguration: logged once per device, renewals spaced by the floor and the
# growing retry backoff, at most 2 x (20 s / 4 s + 1) = 12 in 20 s.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"
: "${EST_EXAMPLES:?EST_EXAMPLES must point at the examples folder}"
init_data
sed -i 's/^validity = "365d"/validity = "40s"/; s/^backdate = "5m"/backdate = "10s"/' "$DATA/est-server.toml"
grep -q '^validity = "40s"' "$DATA/est-server.toml" || fail "could not set the profile's validity"
grep -q '^backdate = "10s"' "$DATA/est-server.toml" || fail "could not set the profile's backdate"
start_server
cd "$WORK"
root=$DATA/ca/root.pem
config=$EST_EXAMPLES/client_config.json
EST_FLEET_SECRET=$(est_server fleet secret --data "$DATA") || fail "fleet secret"
export EST_FLEET_SECRET
WATCH_PID=
stop_watch() {
  if [[ -n $WATCH_PID ]]; then
    kill -TERM "$WATCH_PID" 2>/dev/null || true
    wait "$WATCH_PID" 2>/dev/null || true
    WATCH_PID=
  fi
}
trap 'stop_watch; cleanup' EXIT

est_client provision --config "$config" --out out --server "$URL" --ca-file "$root" >provision.txt ||
  fail "provisioning: $(cat provision.txt)"
openssl x509 -in out/DeviceAlpha/certificate.pem -noout -dates >dates.txt
[[ $(($(date -d "$(sed -n 's/^notAfter=//p' dates.txt)" +%s) - $(date -d "$(sed -n 's/^notBefore=//p' dates.txt)" +%s))) -eq 50 ]] ||
  fail "the certificate is not backdated 10 s before a 40 s validity: $(cat dates.txt)"

# simplereenroll requests the server saw, whatever their result.
reenrollments() {
  est_server audit export --data "$DATA" --json | grep -c '"operation":"simplereenroll"' || true
}
# watch SECONDS LOG THRESHOLD: runs the watch that long, then stops it with SIGTERM.
watch_for() {
  "$EST_CLIENT" renew --config "$config" --out out --server "$URL" --ca-file "$root" --watch \
    --threshold "$3" --retry-min 1s --retry-max 30s >"$2" 2>&1 &
  WATCH_PID=$!
  sleep "$1"
  kill -0 "$WATCH_PID" 2>/dev/null || fail "the watch exited: $(tail -n 5 "$2")"
  stop_watch
  grep -q 'stopping on SIGTERM' "$2" || fail "the watch did not stop on SIGTERM: $(tail -n 3 "$2")"
}

# --- 20%: due 8 s after each certificate arrives ------------------------------------------------
watch_for 30 watch20.log 20%
count=$(reenrollments)
renewed=$(grep -c ' renewed next=' watch20.log || true)
((count <= 8)) || fail "$count simplereenroll requests in 30 s for two devices (at most 8): $(head -n 20 watch20.log)"
((renewed >= 4)) || fail "only $renewed renewals in 30 s (each device is due every 8 s): $(cat watch20.log)"
grep -q ' misconfigured ' watch20.log && fail "20% of 40 s was called a misconfiguration: $(grep misconfigured watch20.log)"
pass "validity 40s, backdate 10s, threshold 20%: $count simplereenroll requests in 30 s for two devices ($renewed renewed; at most 8)"

# --- 1%: due before the floor, a misconfiguration -----------------------------------------------
before=$(reenrollments)
watch_for 20 watch1.log 1%
count=$(($(reenrollments) - before))
((count <= 12)) || fail "$count simplereenroll requests in 20 s at 1% (at most 12): $(head -n 30 watch1.log)"
((count >= 2)) || fail "the misconfigured devices were not renewed at all: $(cat watch1.log)"
for thing in DeviceAlpha DeviceBeta; do
  [[ $(grep -c " $thing misconfigured next=" watch1.log) -eq 1 ]] ||
    fail "$thing: the misconfiguration was not logged exactly once: $(grep misconfigured watch1.log)"
done
grep -q "misconfigured next=.* the certificate is valid for .* from its issuance and the threshold 1% makes it due .* before the renewal floor of " watch1.log ||
  fail "the misconfiguration line does not name the lifetime, threshold and floor: $(grep misconfigured watch1.log)"
pass "threshold 1% (due before the 4 s floor): logged once per device, $count simplereenroll requests in 20 s (at most 12)"

#!/usr/bin/env bash
# The data plane end to end: a real Mosquitto (from PATH, as an unprivileged user, on ephemeral
# loopback ports) configured by `est-server broker config`, kept in step with the registry by
# `est-server serve`, and devices of examples/client_config.json talking to it with the files
# `est-client provision` wrote. Checks delivered payloads, refusals, revocation (new and live
# connections), renewal, changes queued while the broker is down, and `broker sync`.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"
: "${EST_EXAMPLES:?EST_EXAMPLES must point at the examples folder}"
for tool in mosquitto mosquitto_pub mosquitto_sub mosquitto_rr; do
  command -v "$tool" >/dev/null || fail "$tool is not installed (scripts/install-deps.sh installs it)"
done

BROKER=$WORK/broker
MOSQUITTO_PID=
# Mosquitto refuses nothing as root, but the broker of a deployment never runs as root: the test
# runs it as nobody, which must be able to reach the broker folder (and only that).
as_broker() {
  if [[ $EUID -eq 0 ]]; then
    runuser -u nobody -- "$@"
  else
    "$@"
  fi
}
stop_mosquitto() {
  if [[ -n $MOSQUITTO_PID ]]; then
    # The broker itself (runuser waits for it): the pid it wrote, else runuser's.
    kill -TERM "$(cat "$BROKER/mosquitto.pid" 2>/dev/null || echo "$MOSQUITTO_PID")" 2>/dev/null || true
    wait "$MOSQUITTO_PID" 2>/dev/null || true
    MOSQUITTO_PID=
  fi
}
cleanup_broker() {
  stop_mosquitto
  local job
  for job in $(jobs -p); do kill "$job" 2>/dev/null || true; done
  cleanup
}
trap cleanup_broker EXIT

start_mosquitto() {
  rm -f "$BROKER/mosquitto.pid"
  touch "$WORK/mosquitto.log"
  local from
  from=$(($(wc -l <"$WORK/mosquitto.log") + 1))
  as_broker mosquitto -c "$BROKER/mosquitto.conf" >>"$WORK/mosquitto.log" 2>&1 &
  MOSQUITTO_PID=$!
  local deadline=$((SECONDS + 10))
  until tail -n "+$from" "$WORK/mosquitto.log" | grep -q "mosquitto version .* running" &&
    [[ -s $BROKER/mosquitto.pid ]]; do
    kill -0 "$MOSQUITTO_PID" 2>/dev/null || fail "mosquitto exited: $(tail -5 "$WORK/mosquitto.log")"
    ((SECONDS < deadline)) || fail "mosquitto did not start within 10 s"
    sleep 0.1
  done
}
# wait_in_sync SECONDS: until the registry has nothing pending for the broker.
wait_in_sync() {
  local deadline=$((SECONDS + $1)) status
  while true; do
    status=$(est_server broker status --data "$DATA") || fail "broker status: $status"
    [[ $status == "0 thing(s) pending"* ]] && return 0
    ((SECONDS < deadline)) || fail "the broker is not in sync after $1 s: $status; $(grep broker "$WORK/server.log" | tail -5)"
    sleep 0.2
  done
}

# dynsec JSON: one request to the plugin's $CONTROL API as est-server's admin, the answer printed.
dynsec() {
  # shellcheck disable=SC2016 # $CONTROL is the topic's literal name
  timeout 10 mosquitto_rr -h 127.0.0.1 -p "$ADMIN_PORT" -u est-fleet.admin \
    -P "$(cat "$DATA/broker/admin.password")" -t '$CONTROL/dynamic-security/v1' \
    -e '$CONTROL/dynamic-security/v1/response' -W 5 -m "$1"
}

cd "$WORK"
init_data
MQTT_PORT=$(free_port)
ADMIN_PORT=$(free_port)
[[ $MQTT_PORT != "$ADMIN_PORT" ]] || ADMIN_PORT=$(free_port)

# --- broker config --------------------------------------------------------------------------
expect_exit 1 "broker config with equal ports" -- est_server broker config --data "$DATA" \
  --out "$BROKER" --port "$MQTT_PORT" --admin-port "$MQTT_PORT"
grep -q 'must differ' "$WORK/err" || fail "equal ports: $(cat "$WORK/err")"
[[ ! -e $BROKER/mosquitto.conf ]] || fail "a refused broker config wrote mosquitto.conf"
grep -q '^\[broker\]' "$DATA/est-server.toml" && fail "a refused broker config wrote [broker]"
expect_exit 1 "broker sync without [broker]" -- est_server broker sync --data "$DATA"
grep -q 'no \[broker\] table' "$WORK/err" || fail "sync without [broker]: $(cat "$WORK/err")"

est_server broker config --data "$DATA" --out "$BROKER" --port "$MQTT_PORT" \
  --admin-port "$ADMIN_PORT" --bind 127.0.0.1 >config.out || fail "broker config: $(cat config.out)"
for file in mosquitto.conf ca.pem server.pem server.key crl.pem dynamic-security.json; do
  [[ -s $BROKER/$file ]] || fail "broker config did not write $file"
done
for secret in "$BROKER/server.key" "$BROKER/dynamic-security.json" "$DATA/broker/admin.password"; do
  [[ $(stat -c %a "$secret") == 600 ]] || fail "$secret is mode $(stat -c %a "$secret"), not 600"
done
for line in "require_certificate true" "use_identity_as_username true" \
  "use_username_as_clientid true" "allow_anonymous false" "crlfile $BROKER/crl.pem" \
  "listener $ADMIN_PORT 127.0.0.1" "listener $MQTT_PORT 127.0.0.1" "persistence false"; do
  grep -qx "$line" "$BROKER/mosquitto.conf" || fail "mosquitto.conf lacks '$line'"
done
grep -q "^admin_port = $ADMIN_PORT$" "$DATA/est-server.toml" || fail "est-server.toml has no [broker] admin_port"
openssl verify -CAfile "$DATA/ca/root.pem" -untrusted "$BROKER/server.pem" "$BROKER/server.pem" >/dev/null ||
  fail "the broker's certificate does not chain to the root"
openssl x509 -in "$BROKER/server.pem" -noout -ext extendedKeyUsage | grep -q 'TLS Web Server Authentication' ||
  fail "the broker's certificate is not a TLS server certificate"
cmp -s "$BROKER/crl.pem" "$DATA/crl/crl.pem" || fail "the broker's CRL is not the published one"
pass "broker config: mosquitto.conf, TLS files, dynsec state, 0600 secrets, [broker] in est-server.toml"

# --- the broker's key cannot pose as the EST server --------------------------------------------
# Its certificate is from the same CA, serverAuth, for localhost like the EST server's, but lacks
# the EST server's id-kp-cmcRA. Served by openssl s_server on an EST port, est-client refuses it
# before sending anything.
openssl x509 -in "$BROKER/server.pem" -noout -ext extendedKeyUsage >broker-eku.txt
grep -q '1.3.6.1.5.5.7.3.28\|CMC Registration Authority' broker-eku.txt &&
  fail "the broker's certificate carries id-kp-cmcRA: $(cat broker-eku.txt)"
openssl x509 -in "$DATA/tls/server.pem" -noout -ext extendedKeyUsage |
  grep -q '1.3.6.1.5.5.7.3.28\|CMC Registration Authority' ||
  fail "the EST server's certificate lacks id-kp-cmcRA"
[[ $(openssl x509 -in "$BROKER/server.pem" -noout -ext subjectAltName | tail -n +2 | tr -d ' ') == \
  "DNS:localhost,IPAddress:127.0.0.1,IPAddress:0:0:0:0:0:0:0:1" ]] ||
  fail "the broker's names are not the default ones: $(openssl x509 -in "$BROKER/server.pem" -noout -ext subjectAltName)"
start_s_server "$BROKER/server.pem" "$DATA/ca/issuing.pem" "$BROKER/server.key"
echo 'a password the broker must never see' >posing.pw
expect_exit 1 "est-client enroll against the broker's certificate" -- est_client enroll \
  --server "https://localhost:$S_SERVER_PORT" --ca-file "$DATA/ca/root.pem" --cn posing \
  --user alice --password-file posing.pw --key-out posing.key --cert-out posing.pem
grep -q "lacks id-kp-cmcRA, the extended key usage that marks an EST server" err ||
  fail "est-client did not refuse the broker's certificate as the EST server: $(cat err)"
[[ ! -e posing.pem ]] || fail "a certificate was written"
expect_exit 1 "est-client cacerts against the broker's certificate" -- est_client cacerts \
  --server "https://localhost:$S_SERVER_PORT" --ca-file "$DATA/ca/root.pem"
grep -q "lacks id-kp-cmcRA" err || fail "cacerts: $(cat err)"
stop_s_server
pass "the broker's certificate (same CA and names) is refused by est-client as the EST server"

# A profile for the fleet's backend: it publishes commands and reads telemetry. Devices of the
# default profile can only talk to such a client (never to each other).
cat >>"$DATA/est-server.toml" <<'EOF'

[profiles.backend]
auth = ["basic"]
validity = "30d"
fleet_secret_file = "fleet/default.secret"
[profiles.backend.policy_template]
Connect = ["client/${ThingName}"]
Publish = ["topic/commands/*", "topic/broadcast"]
Receive = ["topic/sensors/*"]
Subscribe = ["topicfilter/sensors/*"]
[profiles.backend.default_policy]
Connect = ["client/${ThingName}"]
Publish = ["topic/commands/*", "topic/broadcast"]
Receive = ["topic/sensors/*"]
Subscribe = ["topicfilter/sensors/*"]
EOF

chmod 711 "$WORK"
[[ $EUID -ne 0 ]] || chown -R nobody "$BROKER"
start_mosquitto
start_server
EST_FLEET_SECRET=$(est_server fleet secret --data "$DATA") || fail "fleet secret"
export EST_FLEET_SECRET
est_client provision --config "$EST_EXAMPLES/client_config.json" --server "$URL" \
  --ca-file "$DATA/ca/root.pem" --out out >provision.out || fail "provision: $(cat provision.out)"
est_server fleet password Backend --data "$DATA" --profile backend >backend.pw || fail "fleet password"
est_client enroll --server "$URL" --ca-file "$DATA/ca/root.pem" --cn Backend --user Backend \
  --password-file backend.pw --label backend --key-out backend.key --cert-out backend.pem >/dev/null ||
  fail "enrolling Backend"
wait_in_sync 20
pass "serve applied the enrolled things to the broker"

MQTT=(-h 127.0.0.1 -p "$MQTT_PORT")
device() { echo "--cafile out/$1/root_ca.pem --cert out/$1/certificate.pem --key out/$1/private_key.pem"; }
# shellcheck disable=SC2207 # the file names hold no spaces
ALPHA=($(device DeviceAlpha))
# shellcheck disable=SC2207
BETA=($(device DeviceBeta))
BACKEND=(--cafile "$DATA/ca/root.pem" --cert backend.pem --key backend.key)
# subscribe NAME OUT ARGS...: a subscriber in the background, ready once the broker acknowledged
# its subscription (-d prints SUBACK).
subscribe() {
  local name=$1 out=$2
  shift 2
  timeout 20 stdbuf -oL mosquitto_sub "${MQTT[@]}" -d "$@" >"$out" 2>&1 &
  eval "$name=\$!"
  local deadline=$((SECONDS + 5))
  until grep -q "SUBACK" "$out" 2>/dev/null; do
    ((SECONDS < deadline)) || fail "$name never got its SUBACK: $(cat "$out")"
    sleep 0.05
  done
}
payloads() { grep -v '^Client \|^Subscribed\|^Received\|^Sending\|^Timed out' "$1" || true; }

# --- allowed publish reaches an allowed subscriber ------------------------------------------
subscribe SUB backend.sub "${BACKEND[@]}" -t 'sensors/#' -v -C 1 -W 10
mosquitto_pub "${MQTT[@]}" "${ALPHA[@]}" -t sensors/DeviceAlpha/telemetry -m 'alpha-reading-1' ||
  fail "DeviceAlpha could not publish its telemetry"
wait "$SUB" || fail "Backend received nothing: $(cat backend.sub)"
[[ $(payloads backend.sub) == "sensors/DeviceAlpha/telemetry alpha-reading-1" ]] ||
  fail "Backend received '$(payloads backend.sub)'"
subscribe SUB beta.sub "${BETA[@]}" -t commands/DeviceBeta -v -C 1 -W 10
mosquitto_pub "${MQTT[@]}" "${BACKEND[@]}" -t commands/DeviceBeta -m 'reboot' || fail "Backend publish"
wait "$SUB" || fail "DeviceBeta received nothing: $(cat beta.sub)"
[[ $(payloads beta.sub) == "commands/DeviceBeta reboot" ]] || fail "DeviceBeta received '$(payloads beta.sub)'"
pass "allowed publishes are delivered: DeviceAlpha -> Backend (sensors/#), Backend -> DeviceBeta"

# --- a denied publish and a denied subscribe deliver nothing --------------------------------
subscribe SUB beta.sub "${BETA[@]}" -t commands/DeviceBeta -v -W 3
subscribe SUB2 backend.sub "${BACKEND[@]}" -t 'sensors/#' -v -W 3
mosquitto_pub "${MQTT[@]}" "${ALPHA[@]}" -V mqttv5 -q 1 -t commands/DeviceBeta -m 'forged' \
  >alpha.pub 2>&1 || true
grep -q 'Not authorized' alpha.pub || fail "DeviceAlpha's publish to commands/DeviceBeta was not refused: $(cat alpha.pub)"
mosquitto_pub "${MQTT[@]}" "${BETA[@]}" -t sensors/DeviceAlpha/telemetry -m 'spoofed' ||
  fail "DeviceBeta's (silently dropped) MQTT 3.1.1 publish could not be sent"
wait "$SUB" || true
wait "$SUB2" || true
[[ -z $(payloads beta.sub) ]] || fail "a denied publish was delivered to DeviceBeta: $(payloads beta.sub)"
[[ -z $(payloads backend.sub) ]] || fail "a denied publish was delivered to Backend: $(payloads backend.sub)"
mosquitto_sub "${MQTT[@]}" "${ALPHA[@]}" -t commands/DeviceBeta -C 1 -W 3 >alpha.sub 2>&1 || true
grep -q 'All subscription requests were denied' alpha.sub ||
  fail "DeviceAlpha's subscription to commands/DeviceBeta was not denied: $(cat alpha.sub)"
mosquitto_sub "${MQTT[@]}" "${BETA[@]}" -t 'sensors/#' -C 1 -W 3 >beta.wild 2>&1 || true
grep -q 'All subscription requests were denied' beta.wild ||
  fail "DeviceBeta's subscription to sensors/# was not denied: $(cat beta.wild)"
pass "denied: a publish to another device's commands (PUBACK Not authorized, nothing delivered), subscriptions to others' topics"

# --- client ids: a device is always connected as its own name --------------------------------
log_from=$(($(wc -l <"$WORK/mosquitto.log") + 1))
subscribe SUB beta.sub "${BETA[@]}" -i DeviceBeta -t commands/DeviceBeta -v -C 1 -W 10
mosquitto_pub "${MQTT[@]}" "${ALPHA[@]}" -i DeviceBeta -t sensors/DeviceAlpha/telemetry -m 'x' ||
  fail "DeviceAlpha asking for client id DeviceBeta could not connect at all"
mosquitto_pub "${MQTT[@]}" "${BACKEND[@]}" -t commands/DeviceBeta -m 'still-here' || fail "Backend publish"
wait "$SUB" || fail "DeviceBeta lost its session to DeviceAlpha: $(cat beta.sub)"
[[ $(payloads beta.sub) == "commands/DeviceBeta still-here" ]] || fail "DeviceBeta received '$(payloads beta.sub)'"
tail -n "+$log_from" "$WORK/mosquitto.log" >clientid.log
grep -q "as DeviceAlpha (.*u'DeviceAlpha')" clientid.log || fail "the broker log shows no DeviceAlpha session"
grep -q "as DeviceBeta (.*u'DeviceAlpha')" clientid.log && fail "DeviceAlpha got client id DeviceBeta"
grep -q "Client DeviceBeta already connected" clientid.log && fail "a session took over DeviceBeta's client id"
pass "client id pinned: DeviceAlpha asking for DeviceBeta's id is connected as DeviceAlpha; DeviceBeta keeps its session"

# --- revocation: new TLS connections refused, the live one dropped ---------------------------
subscribe LIVE beta.live "${BETA[@]}" -t commands/DeviceBeta -v -W 15
beta_serial=$(openssl x509 -in out/DeviceBeta/certificate.pem -noout -serial | cut -d= -f2)
est_server certs revoke "$beta_serial" --data "$DATA" --reason keyCompromise >revoke.out ||
  fail "certs revoke: $(cat revoke.out)"
cmp -s "$BROKER/crl.pem" "$DATA/crl/crl.pem" || fail "certs revoke did not copy the CRL to the broker"
wait_in_sync 10
deadline=$((SECONDS + 10))
until grep -q 'The connection was lost' beta.live; do
  ((SECONDS < deadline)) || fail "DeviceBeta's live connection was not dropped: $(cat beta.live)"
  sleep 0.1
done
mosquitto_pub "${MQTT[@]}" "${BACKEND[@]}" -t commands/DeviceBeta -m 'after-revocation' || fail "Backend publish"
status=0
mosquitto_sub "${MQTT[@]}" "${BETA[@]}" -t commands/DeviceBeta -C 1 -W 5 >beta.revoked 2>&1 || status=$?
[[ $status -ne 0 ]] || fail "a revoked certificate connected: $(cat beta.revoked)"
grep -q 'certificate verify failed' "$WORK/mosquitto.log" || fail "the broker did not refuse the revoked certificate in TLS"
kill "$LIVE" 2>/dev/null || true
wait "$LIVE" 2>/dev/null || true
grep -q 'after-revocation' beta.live && fail "the revoked device still received messages"
pass "revoked DeviceBeta: live connection dropped (dynsec client removed), new TLS connection refused (CRL reloaded)"

# --- renewal: the rotated certificate connects, the superseded one does not -----------------
cp out/DeviceAlpha/certificate.pem alpha-old.pem
cp out/DeviceAlpha/private_key.pem alpha-old.key
est_client renew --cert out/DeviceAlpha/certificate.pem --key out/DeviceAlpha/private_key.pem \
  --server "$URL" --ca-file "$DATA/ca/root.pem" --now >renew.out 2>&1 || fail "renew: $(cat renew.out)"
cmp -s alpha-old.pem out/DeviceAlpha/certificate.pem && fail "renew left the certificate as it was"
wait_in_sync 10
subscribe SUB backend.sub "${BACKEND[@]}" -t 'sensors/#' -v -C 1 -W 10
mosquitto_pub "${MQTT[@]}" "${ALPHA[@]}" -t sensors/DeviceAlpha/telemetry -m 'after-renewal' ||
  fail "DeviceAlpha could not connect with its renewed certificate"
wait "$SUB" || fail "Backend received nothing from the renewed DeviceAlpha"
[[ $(payloads backend.sub) == "sensors/DeviceAlpha/telemetry after-renewal" ]] ||
  fail "Backend received '$(payloads backend.sub)'"
# The superseded certificate (grace 0s) is listed by the next CRL, which serve hands the broker.
deadline=$((SECONDS + 10))
until ! mosquitto_pub "${MQTT[@]}" --cafile "$DATA/ca/root.pem" --cert alpha-old.pem \
  --key alpha-old.key -t sensors/DeviceAlpha/telemetry -m old 2>/dev/null; do
  ((SECONDS < deadline)) || fail "the superseded certificate still connects"
  sleep 0.3
done
pass "renewed DeviceAlpha connects with its new certificate; the superseded one is refused"

# --- changes while the broker is down are queued and applied when it returns ----------------
stop_mosquitto
est_server things disable DeviceAlpha --data "$DATA" >disable.out || fail "things disable: $(cat disable.out)"
sleep 1.5
est_server broker status --data "$DATA" >status.out || fail "broker status"
grep -q '^1 thing(s) pending for the broker: DeviceAlpha$' status.out || fail "status while down: $(cat status.out)"
grep -q 'broker not running' status.out || fail "status does not say the broker is down: $(cat status.out)"
expect_exit 1 "broker sync while the broker is down" -- est_server broker sync --data "$DATA"
grep -q 'thing(s) stay pending' "$WORK/err" || fail "sync while down: $(cat "$WORK/err")"
start_mosquitto
wait_in_sync 40
answer=$(dynsec '{"commands":[{"command":"getClient","username":"DeviceAlpha"},{"command":"getClient","username":"Backend"}]}') ||
  fail "asking the broker for its clients"
grep -q '"error":"Client not found"' <<<"$answer" || fail "DeviceAlpha is still a broker client: $answer"
grep -q '"username":"Backend"' <<<"$answer" || fail "Backend is no longer a broker client: $answer"
status=0
mosquitto_pub "${MQTT[@]}" "${ALPHA[@]}" -t sensors/DeviceAlpha/telemetry -m 'disabled' 2>/dev/null || status=$?
[[ $status -ne 0 ]] || fail "the disabled DeviceAlpha still connects"
pass "disabling DeviceAlpha while the broker was down was queued and applied when it came back"

# --- broker sync: idempotent, removes strays -------------------------------------------------
dynsec '{"commands":[{"command":"createClient","username":"Intruder"}]}' >/dev/null ||
  fail "creating a stray client"
est_server broker sync --data "$DATA" >sync1.out || fail "broker sync: $(cat sync1.out)"
grep -q '^Intruder: removed (not a registered thing)$' sync1.out || fail "sync kept a stray client: $(cat sync1.out)"
grep -q '; 0 pending$' sync1.out || fail "sync left things pending: $(cat sync1.out)"
est_server broker sync --data "$DATA" --json >sync2.json || fail "second broker sync: $(cat sync2.json)"
for expected in '"changed": false' '"strays_removed": []' '"pending": 0'; do
  grep -qF "$expected" sync2.json || fail "the second sync changed something: $(cat sync2.json)"
done
[[ $(grep -c '"change": "unchanged"' sync2.json) -eq 1 && $(grep -c '"change": "absent"' sync2.json) -eq 2 ]] ||
  fail "the second sync reported changes: $(cat sync2.json)"
est_server broker sync --data "$DATA" >sync3.out || fail "third broker sync"
grep -q '0 added, 0 updated, 0 removed, 3 unchanged, 0 failed; 0 stray client(s) removed; 0 pending' sync3.out ||
  fail "a repeated sync reported changes: $(cat sync3.out)"
pass "broker sync removes stray clients; run again it changes nothing"

# --- a hand-made MQTT client of a thing's name is never adopted --------------------------------
# An operator's own client `Adopted` with wide rights; then a device enrols that very name. The
# sync must not hand the device those rights, nor add its role to that client: it refuses and says so.
dynsec '{"commands":[{"command":"createRole","rolename":"wide","acls":[{"acltype":"publishClientSend","topic":"#","allow":true}]},{"command":"createClient","username":"Adopted","roles":[{"rolename":"wide"}]}]}' >/dev/null ||
  fail "creating the hand-made client"
est_server fleet password Adopted --data "$DATA" >adopted.pw || fail "fleet password Adopted"
est_client enroll --server "$URL" --ca-file "$DATA/ca/root.pem" --cn Adopted --user Adopted \
  --password-file adopted.pw --key-out adopted.key --cert-out adopted.pem >/dev/null || fail "enrolling Adopted"
expect_exit 1 "broker sync with a hand-made client of a thing's name" -- est_server broker sync --data "$DATA"
grep -q '^Adopted: failed' "$WORK/stdout" || fail "sync adopted the hand-made client: $(cat "$WORK/stdout" "$WORK/err")"
grep -q 'is not adopted' "$WORK/stdout" || fail "sync does not say why: $(cat "$WORK/stdout")"
answer=$(dynsec '{"commands":[{"command":"getClient","username":"Adopted"}]}') || fail "getClient Adopted"
grep -q '"rolename":"wide"' <<<"$answer" || fail "the hand-made client lost its role: $answer"
grep -q '"rolename":"thing:Adopted"' <<<"$answer" && fail "the thing's role was added to the hand-made client: $answer"
est_server broker status --data "$DATA" | grep -q 'pending for the broker: Adopted' ||
  fail "the refused thing is not reported pending: $(est_server broker status --data "$DATA")"
pass "a hand-made client of an enrolled thing's name is refused and reported, not adopted"

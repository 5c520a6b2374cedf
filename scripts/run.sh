#!/usr/bin/env bash
# Installs what is missing, builds, and runs est-server on its embedded default: SQLite registry
# and a CA created on first run in ./data, the example fleet enrolled into ./out.
set -euo pipefail
EST_ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$EST_ROOT"
# shellcheck source=lib/build.sh
source scripts/lib/build.sh

scripts/install-deps.sh
est_build build "est-server est-client"
server=build/src/apps/est-server
client=build/src/apps/est-client
data=${EST_DATA:-data}
out=${EST_OUT:-out}
listen=${EST_LISTEN:-127.0.0.1:8443}
port=${listen##*:}
url=https://localhost:$port

if [[ ! -f $data/est-server.toml ]]; then
  "$server" init --data "$data"
fi
rm -f "$data/serve.port"
"$server" serve --data "$data" --listen "$listen" --port-file "$data/serve.port" &
server_pid=$!
# Ctrl-C and SIGTERM reach the server as SIGTERM (its graceful stop); if this script fails on the
# way (an enrollment refused), the server stops with it instead of lingering in the background.
# shellcheck disable=SC2317 # called by the traps
stop_server() { kill -TERM "$server_pid" 2>/dev/null || true; }
trap stop_server INT TERM EXIT
deadline=$((SECONDS + 30))
until [[ -s $data/serve.port ]]; do
  kill -0 "$server_pid" 2>/dev/null || { echo "run.sh: est-server did not start (see above)" >&2; exit 1; }
  ((SECONDS < deadline)) || { echo "run.sh: est-server did not listen within 30 s" >&2; exit 1; }
  sleep 0.1
done

# The example fleet, enrolled as a factory station would: the fleet secret goes into the variable
# that client_config.json's KV_Name names, and est-client derives each device's password from it.
EST_FLEET_SECRET=$("$server" fleet secret --data "$data")
export EST_FLEET_SECRET
"$client" provision --config examples/client_config.json --server "$url" --ca-file "$data/ca/root.pem" \
  --out "$out" || { echo "run.sh: provisioning the example fleet failed (see the table above)" >&2; exit 1; }
"$server" things list --data "$data"

cat <<EOT

est-server is running on $url (Ctrl-C stops it). Data: $data/, device files: $out/<ThingName>/.
Enroll a fleet of your own: write a client_config.json like examples/client_config.json, then
  EST_FLEET_SECRET=\$($server fleet secret --data $data) \\
    $client provision --config client_config.json --server $url --ca-file $data/ca/root.pem --out $out
See what a device may do:  $server policy show DeviceAlpha --data $data
Enroll one device with nothing but openssl and curl (its password derives from the fleet secret):
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout MyDevice.key \\
    -subj /CN=MyDevice -outform DER | base64 > MyDevice.csr
  curl --cacert $data/ca/root.pem -u MyDevice:\$($server fleet password MyDevice --data $data) \\
    -H 'Content-Type: application/pkcs10' --data-binary @MyDevice.csr \\
    $url/.well-known/est/simpleenroll | base64 -d | openssl pkcs7 -inform DER -print_certs
EOT
# `wait` returns early whenever a trapped signal arrives: keep waiting until the server is gone,
# then collect its exit status (bash remembers it) and exit with it.
while kill -0 "$server_pid" 2>/dev/null; do
  wait "$server_pid" || true
done
status=0
wait "$server_pid" || status=$?
exit "$status"

#!/usr/bin/env bash
# Installs what is missing, builds, and runs est-server on its embedded default: SQLite registry
# and a CA created on first run in ./data, the example fleet enrolled into ./out.
set -euo pipefail
EST_ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$EST_ROOT"
# shellcheck source=lib/build.sh
source scripts/lib/build.sh

scripts/install-deps.sh
est_configure build
cmake --build build -j "$(nproc)" --target est-server est-client
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
if [[ ! -f $data/factory.password ]]; then
  (umask 077 && head -c 18 /dev/urandom | base64 | tr -d '/+=' >"$data/factory.password")
  "$server" user add factory --data "$data" --password-file "$data/factory.password" --replace
fi

rm -f "$data/serve.port"
"$server" serve --data "$data" --listen "$listen" --port-file "$data/serve.port" &
server_pid=$!
trap 'kill -TERM "$server_pid" 2>/dev/null; wait "$server_pid"' INT TERM
for _ in $(seq 100); do
  [[ -s $data/serve.port ]] && break
  kill -0 "$server_pid" 2>/dev/null || { echo "run.sh: est-server did not start" >&2; exit 1; }
  sleep 0.1
done

# The example fleet: each ThingName of examples/client_config.json gets a key and certificate.
mapfile -t things < <(grep -o '"ThingName": *"[^"]*"' examples/client_config.json | sed 's/.*: *"\(.*\)"/\1/')
for thing in "${things[@]}"; do
  dir=$out/$thing
  mkdir -p "$dir"
  if [[ -f $dir/certificate.pem ]] && openssl x509 -in "$dir/certificate.pem" -noout -checkend 0 >/dev/null 2>&1; then
    echo "$thing already holds a valid certificate in $dir"
    continue
  fi
  "$client" enroll --server "$url" --ca-file "$data/ca/root.pem" --cn "$thing" \
    --user factory --password-file "$data/factory.password" \
    --key-out "$dir/private_key.pem" --cert-out "$dir/certificate.pem"
  cp "$data/ca/root.pem" "$dir/root_ca.pem"
done

cat <<EOT

est-server is running on $url (Ctrl-C stops it). Data: $data/, device files: $out/<ThingName>/.
Enroll another device with est-client:
  $client enroll --server $url --ca-file $data/ca/root.pem --cn MyDevice \\
    --user factory --password-file $data/factory.password \\
    --key-out $out/MyDevice/private_key.pem --cert-out $out/MyDevice/certificate.pem
or with nothing but openssl and curl:
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout MyDevice.key \\
    -subj /CN=MyDevice -outform DER | base64 > MyDevice.csr
  curl --cacert $data/ca/root.pem -u factory:\$(cat $data/factory.password) \\
    -H 'Content-Type: application/pkcs10' --data-binary @MyDevice.csr \\
    $url/.well-known/est/simpleenroll | base64 -d | openssl pkcs7 -inform DER -print_certs
EOT
wait "$server_pid"

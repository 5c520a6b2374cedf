#!/usr/bin/env bash
# A reference for est-server's TLS cost: OpenSSL's own `s_server`, CPU per full TLS 1.3 handshake
# (X25519, ECDSA P-256 certificate, the same library est-server links), against the public-key
# work of that handshake measured by `openssl speed` in the same run. Nothing of est-fleet runs.
# Usage: bench/reference/openssl_handshake.sh [SECONDS]   (default 5; prints one JSON object)
set -euo pipefail
seconds=${1:-5}
[[ $seconds =~ ^[1-9][0-9]*$ ]] || { echo "SECONDS must be a whole number of seconds, not '$seconds'" >&2; exit 2; }
work=$(mktemp -d)
server_pid=
cleanup() {
  [[ -n $server_pid ]] && kill "$server_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

openssl ecparam -name prime256v1 -genkey -noout -out "$work/key.pem" 2>/dev/null
openssl req -new -x509 -key "$work/key.pem" -out "$work/cert.pem" -subj /CN=localhost -days 1 2>/dev/null

# s_server cannot report an ephemeral port: take one the kernel just handed out.
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
openssl s_server -quiet -accept "127.0.0.1:$port" -cert "$work/cert.pem" -key "$work/key.pem" \
  -tls1_3 -groups X25519 -num_tickets 1 >"$work/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 100); do
  python3 -c "import socket,sys; socket.create_connection(('127.0.0.1',$port),0.2).close()" 2>/dev/null && break
  kill -0 "$server_pid" 2>/dev/null || { echo "openssl s_server did not start: $(cat "$work/server.log")" >&2; exit 1; }
  sleep 0.05
done

cpu_ticks() { awk '{print $14 + $15}' "/proc/$server_pid/stat"; }
before=$(cpu_ticks)
# s_time: one full handshake per connection (-new), no request; it prints "N connections in …".
timing=$(openssl s_time -connect "127.0.0.1:$port" -new -time "$seconds" -CAfile "$work/cert.pem" 2>&1)
after=$(cpu_ticks)
handshakes=$(sed -n 's/^\([0-9]\+\) connections in .*/\1/p' <<<"$timing" | head -1)
[[ -n $handshakes && $handshakes -gt 0 ]] || { echo "openssl s_time made no connection: $timing" >&2; exit 1; }

speed=$(openssl speed -seconds 1 ecdhx25519 ecdsap256 2>/dev/null)
python3 - "$handshakes" "$before" "$after" "$(getconf CLK_TCK)" "$speed" "$(openssl version)" <<'PY'
import json, re, sys
handshakes, before, after, tick = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
speed, version = sys.argv[5], sys.argv[6]
sign = verify = derive = None
for line in speed.splitlines():
    m = re.match(r"\s*256 bits ecdsa \(nistp256\)\s+\S+s\s+\S+s\s+([\d.]+)\s+([\d.]+)", line)
    if m:
        sign, verify = 1e6 / float(m.group(1)), 1e6 / float(m.group(2))
    m = re.match(r"\s*253 bits ecdh \(X25519\)\s+\S+s\s+([\d.]+)", line)
    if m:
        derive = 1e6 / float(m.group(1))
if None in (sign, verify, derive):
    sys.exit("openssl speed printed no ECDSA P-256 or X25519 figure:\n" + speed)
cpu_us = (after - before) / tick * 1e6 / handshakes
# The handshake's public-key work on the server: an X25519 key generation and one derivation
# (each one scalar multiplication) and one ECDSA P-256 signature (CertificateVerify).
floor = 2 * derive + sign
print(json.dumps({
    "openssl": version,
    "handshakes": handshakes,
    "s_server_cpu_us_per_handshake": round(cpu_us, 1),
    "handshake_floor_us": round(floor, 1),
    "ratio_to_floor": round(cpu_us / floor, 2),
    "speed_us": {"x25519_derive": round(derive, 1), "ecdsa_p256_sign": round(sign, 1),
                 "ecdsa_p256_verify": round(verify, 1)},
}))
PY

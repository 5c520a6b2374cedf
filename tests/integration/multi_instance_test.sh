#!/usr/bin/env bash
# Scale-out: two est-server processes share one registry and one CA key held in one SoftHSM2
# token. 8 clients (est-bench connections, 4 on each instance) enroll 2,000 devices concurrently;
# then every certificate in the registry verifies against the root, no serial and no ThingName is
# there twice, the registry holds exactly the 2,000 the clients were given, and devices enrolled
# on one instance (est-client, certificates kept) are in the registry as issued and re-enroll on
# the other.
#
# The registry is PostgreSQL: a throw-away cluster that tests/support/postgres_cluster.sh starts
# around this script (MULTI_BACKEND=sqlite instead shares the SQLite file, WAL and busy timeout).
CLUSTER=$(dirname "$0")/../support/postgres_cluster.sh
if [[ ${MULTI_BACKEND:-postgres} == postgres && -z ${EST_TEST_POSTGRES_URL:-} ]]; then
  [[ -f $CLUSTER ]] || { echo "FAIL: $CLUSTER is missing" >&2; exit 1; }
  exec bash "$CLUSTER" bash "$0" "$@"
fi
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"
cd "$WORK"

EST_BENCH=${EST_BENCH:-$(dirname "$EST_SERVER")/est-bench}
[[ -x $EST_BENCH ]] || fail "est-bench is not built ($EST_BENCH); build it with EST_BUILD_BENCH=ON"
TOTAL=${MULTI_TOTAL:-2000}
# Each est-bench run enrolls one device untimed first (its warm-up), then --requests timed.
PER_BENCH=$((TOTAL / 2 - 1))

MODULE=/usr/lib/softhsm/libsofthsm2.so
[[ -r $MODULE ]] || fail "SoftHSM2 is not installed ($MODULE)"
export SOFTHSM2_CONF=$WORK/softhsm2.conf
mkdir -p "$WORK/tokens"
printf 'directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\n' \
  "$WORK/tokens" >"$SOFTHSM2_CONF"
export EST_PKCS11_PIN=multi-user-2718
softhsm2-util --init-token --free --label est-multi --pin "$EST_PKCS11_PIN" --so-pin so-3141 \
  >/dev/null || fail "softhsm2-util could not initialise a token"

est_server init --data "$DATA" --pkcs11 'pkcs11:token=est-multi;object=issuing-ca' >/dev/null ||
  fail "init --pkcs11 failed"

# registry_sql QUERY: one value per line from the shared registry.
if [[ -n ${EST_TEST_POSTGRES_URL:-} ]]; then
  BACKEND=postgresql
  sed -i "s|^url = \"sqlite:///registry.db\"|url = \"$EST_TEST_POSTGRES_URL\"|" "$DATA/est-server.toml"
  grep -q "^url = \"$EST_TEST_POSTGRES_URL\"" "$DATA/est-server.toml" || fail "could not set database.url"
  registry_sql() { psql "$EST_TEST_POSTGRES_URL" -X -A -t -q -c "$1"; }
else
  BACKEND=sqlite
  registry_sql() { sqlite3 -batch -noheader "$DATA/registry.db" "$1"; }
fi
printf '%s\n' "$PASSWORD" >"$WORK/password"
est_server user add alice --data "$DATA" --password-file "$WORK/password" >/dev/null ||
  fail "user add alice failed"

# Two instances on the same data folder (same config, same token key, same registry).
PIDS=()
start_instance() { # NAME -> sets PORT_<NAME>
  local name=$1
  "$EST_SERVER" serve --data "$DATA" --listen 127.0.0.1:0 --port-file "$WORK/port.$name" \
    >>"$WORK/server.log" 2>&1 &
  PIDS+=($!)
  await_listening "${PIDS[-1]}" "$WORK/port.$name"
  printf -v "PORT_$name" '%s' "$(cat "$WORK/port.$name")"
}
stop_instances() {
  local pid
  for pid in "${PIDS[@]}"; do
    kill -TERM "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  PIDS=()
}
trap 'stop_instances; cleanup' EXIT
start_instance A
start_instance B
URL_A=https://localhost:$PORT_A
URL_B=https://localhost:$PORT_B
CA=$DATA/ca/root.pem
CHAIN=$DATA/ca/chain.pem
pass "two instances ($BACKEND registry, one token key) on ports $PORT_A and $PORT_B"

# The load: 8 concurrent clients, 4 connections on each instance, all at the same time.
started=$SECONDS
bench() { # URL OUT
  timeout 120 "$EST_BENCH" --server "$1" --ca-file "$CA" --user alice --password-file "$WORK/password" \
    --mode enroll --connections 4 --requests $PER_BENCH --threads 1 --json >"$2" 2>"$2.err"
}
bench "$URL_A" bench-a.json &
bench_a=$!
bench "$URL_B" bench-b.json &
bench_b=$!
wait "$bench_a" || fail "est-bench against A failed: $(cat bench-a.json.err)"
wait "$bench_b" || fail "est-bench against B failed: $(cat bench-b.json.err)"
elapsed=$((SECONDS - started))
for side in a b; do
  python3 - "bench-$side.json" <<'PY' || fail "est-bench $side: $(cat "bench-$side.json")"
import json, sys
report = json.load(open(sys.argv[1]))
errors = report.get("errors", {})
if errors:
    sys.exit(f"errors: {errors}")
print(f"  {sys.argv[1]}: {report['enrollments_per_s']:.0f} enrollments/s, "
      f"p50 {report['latency_ms']['p50']:.1f} ms, p99 {report['latency_ms']['p99']:.1f} ms")
PY
done
pass "$TOTAL enrollments through both instances in ${elapsed}s, no errors"

# Devices enrolled with est-client on one instance, their certificates kept.
clients=()
for i in 1 2 3 4; do
  for side in A B; do
    url_var=URL_$side
    est_client enroll --server "${!url_var}" --ca-file "$CA" --cn "kept-$side-$i" --user alice \
      --password-file "$WORK/password" --key-out "kept-$side-$i.key" \
      --cert-out "kept-$side-$i.pem" >/dev/null 2>"$WORK/err.$side.$i" &
    clients+=($!)
  done
done
for pid in "${clients[@]}"; do
  wait "$pid" || true
done
for side in A B; do
  for i in 1 2 3 4; do
    [[ -s kept-$side-$i.pem ]] || fail "est-client on $side ($i): $(cat "$WORK/err.$side.$i")"
  done
done

# Everything in the registry, checked from the registry's own rows.
bench_rows=$(registry_sql "SELECT COUNT(*) FROM certificates WHERE thing_name LIKE 'bench-%'")
[[ $bench_rows == "$TOTAL" ]] || fail "the registry holds $bench_rows bench certificates, not $TOTAL"
duplicates=$(registry_sql "SELECT COUNT(*) - COUNT(DISTINCT serial) FROM certificates")
[[ $duplicates == 0 ]] || fail "$duplicates serials are duplicated"
duplicates=$(registry_sql "SELECT COUNT(*) - COUNT(DISTINCT thing_name) FROM certificates")
[[ $duplicates == 0 ]] || fail "$duplicates ThingNames hold more than one certificate"
things=$(registry_sql "SELECT COUNT(*) FROM things WHERE name LIKE 'bench-%'")
[[ $things == "$TOTAL" ]] || fail "the registry holds $things bench things, not $TOTAL"
pass "the registry holds exactly $TOTAL bench certificates: distinct serials and ThingNames"

mkdir -p certs
registry_sql "SELECT pem FROM certificates" |
  awk '/-----BEGIN CERTIFICATE-----/ { n++ } { print > ("certs/" n ".pem") }'
count=$(find certs -name '*.pem' | wc -l)
[[ $count -ge $TOTAL ]] || fail "only $count certificates came out of the registry"
failed=$(find certs -name '*.pem' -print0 |
  xargs -0 -n 500 openssl verify -CAfile "$CA" -untrusted "$CHAIN" 2>&1 | grep -vc ': OK$' || true)
[[ $failed == 0 ]] || fail "$failed registry certificates do not verify against the root"
# Serials as the certificates carry them, against the registry's column.
cat certs/*.pem >all.pem
cert_serials=$(openssl crl2pkcs7 -nocrl -certfile all.pem | openssl pkcs7 -print_certs -noout -text |
  awk '/Serial Number:/ { getline; gsub(/[ :]/, ""); print }' | sort -u | wc -l)
[[ $cert_serials == "$count" ]] || fail "$((count - cert_serials)) certificates share a serial"
pass "all $count registry certificates verify against the root; their serials are distinct"

# The kept devices: in the registry as issued, verifying, and renewing on the other instance.
for side in A B; do
  other=B
  [[ $side == B ]] && other=A
  other_url=URL_$other
  for i in 1 2 3 4; do
    name=kept-$side-$i
    openssl verify -CAfile "$CA" -untrusted "$CHAIN" "$name.pem" >/dev/null 2>&1 ||
      fail "$name's certificate does not verify"
    serial=$(openssl x509 -in "$name.pem" -noout -serial | cut -d= -f2)
    stored=$(registry_sql "SELECT COUNT(*) FROM certificates WHERE upper(serial) = '$serial' AND thing_name = '$name'")
    [[ $stored == 1 ]] || fail "$name's certificate ($serial) is not in the registry"
    est_client reenroll --server "${!other_url}" --ca-file "$CA" --cert "$name.pem" --key "$name.key" \
      --key-out "$name.new.key" --cert-out "$name.new.pem" >/dev/null 2>"$WORK/err" ||
      fail "$name (enrolled on $side) could not re-enroll on $other: $(cat "$WORK/err")"
    openssl verify -CAfile "$CA" -untrusted "$CHAIN" "$name.new.pem" >/dev/null 2>&1 ||
      fail "$name's renewed certificate does not verify"
    status=$(registry_sql "SELECT status FROM certificates WHERE upper(serial) = '$serial'")
    [[ $status == superseded ]] || fail "$name's old certificate is '$status' after renewal, not superseded"
  done
done
pass "devices enrolled on one instance are registered and re-enroll on the other (${SECONDS}s in all)"
stop_instances

#!/usr/bin/env bash
# Enrollment beside unauthenticated OCSP and CRL floods (docs/performance.md, "OCSP and CRL
# floods"; docs/security.md): est-bench enrolls against a fresh est-server whose registry holds a
# large CRL, in turns quiet and while curl keeps asking over keep-alive loopback connections,
#   POST /ocsp with requests of 20 CertIDs (the cap) of registered serials,
#   POST /ocsp with 64 KiB requests of CertIDs (over the cap: refused),
#   GET /crl (the whole CRL):
# quiet, flooded, quiet, flooded, quiet (--quick: quiet, flooded, quiet). The turns alternate
# because enrollment slows down a little as the registry grows, run after run; the flooded runs
# are compared with the quiet runs around them. Each flood is two curl processes, paced
# (requests/s) and bounded in count and time; est-bench is bounded in requests. curl, not a
# script, sends the floods: on one small machine the flooding client's own CPU would otherwise be
# most of what the floods cost.
# Usage: bench/revocation_flood.sh BUILD_DIR [--quick]
#   BUILD_DIR holds src/apps/est-server, src/apps/est-bench and bench/est-registry-fill (a Release
#   build for figures); --quick runs each part briefly, to check that the measurement still works.
# Environment (optional): FLOOD_OCSP_RATE, FLOOD_BIG_RATE, FLOOD_CRL_RATE (whole requests/s of each
# flood; defaults 100, 20, 10; 0 leaves that flood out), FLOOD_CRL_ENTRIES, BENCH_CONNECTIONS,
# BENCH_REQUESTS.
# Prints a table on stderr and one JSON object on stdout.
set -euo pipefail
usage="usage: bench/revocation_flood.sh BUILD_DIR [--quick]"
build=${1:?$usage}
quick=false
if [[ $# -ge 2 ]]; then
  [[ $2 == --quick ]] || { echo "$usage" >&2; exit 2; }
  quick=true
fi
server=$build/src/apps/est-server
bench=$build/src/apps/est-bench
fill=$build/bench/est-registry-fill
for binary in "$server" "$bench" "$fill"; do
  [[ -x $binary ]] || { echo "$binary is missing: build est-server, est-bench and est-registry-fill in $build first" >&2; exit 2; }
done
for tool in openssl sqlite3 python3 curl stdbuf; do
  command -v "$tool" >/dev/null || { echo "$tool is missing" >&2; exit 2; }
done

if $quick; then
  defaults=(200 4 60 60 1)
else
  defaults=(10000 32 8000 120 2)
fi
crl_entries=${FLOOD_CRL_ENTRIES:-${defaults[0]}}
connections=${BENCH_CONNECTIONS:-${defaults[1]}}
requests=${BENCH_REQUESTS:-${defaults[2]}}
flood_seconds=${defaults[3]}  # the most one flooded turn may last
rounds=${defaults[4]}         # flooded turns
ocsp_rate=${FLOOD_OCSP_RATE:-100} big_rate=${FLOOD_BIG_RATE:-20} crl_rate=${FLOOD_CRL_RATE:-10}
cert_ids=20  # kMaxOcspCertIds (src/ca/ocsp_responder.hpp)

work=$(mktemp -d)
server_pid=''
flood_pids=()
flooding=()
cleanup() {
  for pid in "${flood_pids[@]}" "$server_pid"; do
    if [[ -n $pid ]]; then
      kill -TERM "$pid" 2>/dev/null || true
      wait "$pid" 2>/dev/null || true
    fi
  done
  rm -rf "$work"
}
trap cleanup EXIT

data=$work/data
"$server" init --data "$data" >/dev/null
printf '%s\n' "flood-$RANDOM$RANDOM" >"$work/password"
"$server" user add bench --data "$data" --password-file "$work/password" >/dev/null

# A registry whose CRL lists crl_entries certificates, as one does after many renewals or
# revocations, plus as many active ones: the OCSP requests name both.
echo "revocation_flood: filling the registry ($crl_entries revoked, $crl_entries active)" >&2
"$fill" --db "$data/registry.db" --things $((2 * crl_entries)) --prefix flood- >/dev/null
sqlite3 -batch "$data/registry.db" \
  "UPDATE certificates SET status = 'revoked', revoked_at = strftime('%s', 'now'),
   revocation_reason = 'keyCompromise' WHERE rowid % 2 = 0" >/dev/null

# The requests, made once: 20 registered serials (the cap), and as many CertIDs as fit in a
# 64 KiB body (max_body_bytes), most of them unregistered.
serial_args() { awk '{ print "-serial"; print "0x" $0 }'; }
mapfile -t asked < <(sqlite3 -batch -noheader "$data/registry.db" \
  "SELECT serial FROM certificates ORDER BY random() LIMIT $cert_ids" | serial_args)
openssl ocsp -issuer "$data/ca/issuing.pem" "${asked[@]}" -no_nonce -reqout "$work/ocsp.der" >/dev/null
mapfile -t many < <(for i in $(seq 800); do printf 'F1%030X\n' "$((i * 7919))"; done | serial_args)
openssl ocsp -issuer "$data/ca/issuing.pem" "${many[@]}" -no_nonce -reqout "$work/big.der" >/dev/null
big_bytes=$(stat -c %s "$work/big.der")
((big_bytes <= 65536)) || { echo "the big OCSP request is $big_bytes bytes, over 64 KiB" >&2; exit 1; }

"$server" serve --data "$data" --listen 127.0.0.1:0 --port-file "$work/port" \
  >"$work/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 200); do
  [[ -s $work/port ]] && break
  kill -0 "$server_pid" 2>/dev/null || { echo "est-server did not start: $(tail -5 "$work/server.log")" >&2; exit 1; }
  sleep 0.05
done
[[ -s $work/port ]] || { echo "est-server did not listen within 10 s" >&2; exit 1; }
port=$(cat "$work/port")
curl -sS --cacert "$data/ca/root.pem" "https://127.0.0.1:$port/crl" -o "$work/crl.der"
crl_bytes=$(stat -c %s "$work/crl.der")

enroll() { # NAME: one est-bench run into $work/NAME.json
  echo "revocation_flood: est-bench enroll, $connections connections, $requests requests ($1)" >&2
  "$bench" --server "https://127.0.0.1:$port" --ca-file "$data/ca/root.pem" --user bench \
    --password-file "$work/password" --mode enroll --keepalive --connections "$connections" \
    --requests "$requests" --json >"$work/$1.json" 2>"$work/bench.err" ||
    { echo "est-bench ($1) failed: $(cat "$work/bench.err")" >&2; exit 1; }
}

# Each request once, its answer checked: the 20 CertIDs are answered, the 64 KiB are refused.
probe() { # KIND: the OCSP response status and the number of answers for $work/KIND.der
  curl -sS --cacert "$data/ca/root.pem" -H 'Content-Type: application/ocsp-request' \
    --data-binary "@$work/$1.der" "https://127.0.0.1:$port/ocsp" -o "$work/$1.answer"
  # A refusal reads "Responder Error: malformedrequest (1)", an answer "OCSP Response Status: ...".
  openssl ocsp -respin "$work/$1.answer" -resp_text -noverify >"$work/$1.txt" 2>&1 || true
  printf '%s %s\n' \
    "$(sed -n 's/^ *\(OCSP Response Status\|Responder Error\): \([a-zA-Z]*\).*/\2/p' "$work/$1.txt")" \
    "$(grep -c 'Cert Status:' "$work/$1.txt" || true)"
}
read -r ocsp_status ocsp_answers < <(probe ocsp)
read -r big_status big_answers < <(probe big)

# flood ROUND KIND RATE URL [curl options]: two curl processes, each on one keep-alive connection
# at half RATE (requests/s) for at most flood_seconds' worth of requests, writing "status size"
# per answer to $work/KIND-ROUND-N.out.
flood() {
  local round=$1 kind=$2 rate=$3 url=$4 n i
  shift 4
  ((rate > 0)) || return 0
  flooding+=("$kind")
  for n in 1 2; do
    for ((i = 0; i < rate * flood_seconds / 2 + 1; i++)); do
      printf 'url = "%s"\noutput = "/dev/null"\n' "$url"
    done >"$work/$kind.curl"
    # Line-buffered, so the answers are counted as they come and when curl is stopped.
    stdbuf -oL curl -sS --cacert "$data/ca/root.pem" --rate "$((rate * 30))/m" \
      -w '%{http_code} %{size_download}\n' "$@" -K "$work/$kind.curl" \
      >"$work/$kind-$round-$n.out" 2>"$work/$kind-$round-$n.err" &
    flood_pids+=($!)
  done
}

# flooded_turn ROUND: the three floods, est-bench once they all answer, the floods stopped; adds
# the turn's flooding time to $work/flood-seconds.
flooded_turn() {
  local round=$1 started kind out answered=0
  local post=(-H 'Content-Type: application/ocsp-request' --data-binary)
  started=$(date +%s.%N)
  flooding=()
  flood "$round" ocsp "$ocsp_rate" "https://127.0.0.1:$port/ocsp" "${post[@]}" "@$work/ocsp.der"
  flood "$round" big "$big_rate" "https://127.0.0.1:$port/ocsp" "${post[@]}" "@$work/big.der"
  flood "$round" crl "$crl_rate" "https://127.0.0.1:$port/crl"
  for _ in $(seq 600); do
    answered=0
    for kind in "${flooding[@]}"; do
      for out in "$work/$kind-$round"-{1,2}.out; do
        [[ -s $out ]] && answered=$((answered + 1))
      done
    done
    ((answered == 2 * ${#flooding[@]})) && break
    sleep 0.05
  done
  ((answered == 2 * ${#flooding[@]})) ||
    { echo "the floods got no answer within 30 s: $(cat "$work"/*.err)" >&2; exit 1; }
  sleep 1  # the floods at their pace before the measurement starts
  enroll "flooded-$round"
  if ((${#flood_pids[@]} > 0)); then
    kill -TERM "${flood_pids[@]}" 2>/dev/null || true
    wait "${flood_pids[@]}" 2>/dev/null || true
  fi
  flood_pids=()
  echo "$(date +%s.%N) - $started" >>"$work/flood-seconds"
}

enroll quiet-0
for ((round = 1; round <= rounds; round++)); do
  flooded_turn "$round"
  enroll "quiet-$round"
done

python3 - "$work" "$rounds" "$crl_entries" "$crl_bytes" "$big_bytes" \
  "$ocsp_status" "$ocsp_answers" "$big_status" "$big_answers" <<'PY'
import json, os, statistics, sys

work, rounds, crl_entries, crl_bytes, big_bytes = (
    sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]))
probes = {"ocsp": {"status": sys.argv[6], "answers": int(sys.argv[7])},
          "big": {"status": sys.argv[8], "answers": int(sys.argv[9])}}
load = lambda name: json.load(open(f"{work}/{name}.json"))
quiet_runs = [load(f"quiet-{r}") for r in range(rounds + 1)]
flooded_runs = [load(f"flooded-{r}") for r in range(1, rounds + 1)]
failed = [run["errors"] for run in quiet_runs + flooded_runs
          if run["errors"] or run["succeeded"] != run["requests"]]
if failed:
    sys.exit(f"est-bench counted errors: {failed}")

flood_seconds = 0.0
for line in open(f"{work}/flood-seconds"):
    end, start = line.split(" - ")
    flood_seconds += float(end) - float(start)
flood = {}
for kind in ("ocsp", "big", "crl"):
    if not os.path.exists(f"{work}/{kind}-1-1.out"):
        continue  # left out (rate 0)
    answers = [line.split() for r in range(1, rounds + 1) for n in (1, 2)
               for line in open(f"{work}/{kind}-{r}-{n}.out")]
    statuses, sizes = {}, [int(size) for _, size in answers]
    for status, _ in answers:
        statuses[status] = statuses.get(status, 0) + 1
    flood[kind] = {"requests": len(answers), "per_s": round(len(answers) / flood_seconds, 1),
                   "http_statuses": statuses, "answer_bytes": [min(sizes), max(sizes)]}
for kind, probe in probes.items():
    flood.setdefault(kind, {"requests": 0})["probe"] = probe
flood["big"]["request_bytes"] = big_bytes
flood["seconds"] = round(flood_seconds, 1)
def figures(run):
    return {"enrollments_per_s": round(run["enrollments_per_s"], 1),
            "p50_ms": round(run["latency_ms"]["p50"], 2), "p99_ms": round(run["latency_ms"]["p99"], 2)}

def mean(runs):
    return {key: round(statistics.mean(figures(run)[key] for run in runs), 2)
            for key in ("enrollments_per_s", "p50_ms", "p99_ms")}

quiet, flooded = mean(quiet_runs), mean(flooded_runs)
throughput_ratio = flooded["enrollments_per_s"] / quiet["enrollments_per_s"]
p99_ratio = flooded["p99_ms"] / quiet["p99_ms"]
result = {
    "quiet": {"runs": [figures(run) for run in quiet_runs], "mean": quiet},
    "flooded": {"runs": [figures(run) for run in flooded_runs], "mean": flooded},
    "throughput_ratio": round(throughput_ratio, 3),
    "p99_ratio": round(p99_ratio, 3),
    "within_20_percent": throughput_ratio >= 0.8 and p99_ratio <= 1.2,
    "crl": {"entries": crl_entries, "der_bytes": crl_bytes},
    "floods": flood,
}
for name, runs in (("quiet", quiet_runs), ("flooded", flooded_runs)):
    for run in map(figures, runs):
        print(f"{name:<8} {run['enrollments_per_s']:8.0f} enrollments/s  p50 {run['p50_ms']:6.1f} ms"
              f"  p99 {run['p99_ms']:6.1f} ms", file=sys.stderr)
for name, run in (("quiet, mean", quiet), ("flooded, mean", flooded)):
    print(f"{name:<14} {run['enrollments_per_s']:8.0f} enrollments/s  p50 {run['p50_ms']:6.1f} ms"
          f"  p99 {run['p99_ms']:6.1f} ms", file=sys.stderr)
for kind, what in (("ocsp", "OCSP, 20 CertIDs"), ("big", "OCSP, 64 KiB of CertIDs"),
                   ("crl", f"GET /crl ({crl_entries} entries, {crl_bytes} bytes)")):
    if not flood.get(kind, {}).get("requests"):
        continue
    answer = flood[kind].get("probe", {}).get("status", "DER CRL")
    print(f"flood {what:<46} {flood[kind]['per_s']:7.1f}/s  HTTP {flood[kind]['http_statuses']}"
          f", {answer}", file=sys.stderr)
print(f"flooded/quiet: throughput {throughput_ratio:.2f}, p99 {p99_ratio:.2f}", file=sys.stderr)
print(json.dumps(result))
PY

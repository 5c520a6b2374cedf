#!/usr/bin/env bash
# libFuzzer targets (fuzz/, clang 14, ASan+UBSan). See docs/testing.md, "Fuzzing".
# Usage: scripts/fuzz.sh build [BUILD_DIR]                  -- configure and build every target
#        scripts/fuzz.sh run BUILD_DIR TARGET SECONDS        -- fuzz TARGET for SECONDS from its
#                                                               committed corpus; fails on a crash,
#                                                               leak, timeout or out-of-memory
#        scripts/fuzz.sh list                                 -- the target names
# Crashes are written to BUILD_DIR/fuzz-artifacts/TARGET/ (the failure message names the file);
# reproduce one with BUILD_DIR/fuzz/TARGET FILE. New inputs go to BUILD_DIR/fuzz-work/TARGET/,
# never into fuzz/corpus/ (merge worthwhile ones by hand with -merge=1).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

targets() { for f in fuzz/fuzz_*.cpp; do basename "$f" .cpp; done; }

case ${1:-} in
  build)
    build=${2:-build-fuzz}
    EST_ROOT=$root
    # shellcheck source=lib/build.sh
    source scripts/lib/build.sh
    # Only the fuzz targets and the libraries they link are built; no tests, no benchmarks.
    # -O1 -g1: what libFuzzer recommends, line tables for the stacks, and a faster compile.
    # EST_FUZZ_CXXFLAGS overrides it (scripts/test.sh: -O0, half the compile for a 20 s smoke run).
    CXX=${CXX_FUZZ:-clang++-14} est_build "$build" est_fuzzers -DEST_BUILD_FUZZERS=ON \
      -DEST_BUILD_TESTS=OFF -DEST_BUILD_BENCH=OFF -DEST_WERROR=ON \
      "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=${EST_FUZZ_CXXFLAGS:--O1 -g1}"
    ;;
  run)
    build=$(cd "${2:?usage: fuzz.sh run BUILD_DIR TARGET SECONDS}" && pwd)
    target=${3:?target}
    seconds=${4:?seconds}
    binary=$build/fuzz/$target
    [[ -x $binary ]] || { echo "fuzz.sh: $binary is not built (scripts/fuzz.sh build $build)" >&2; exit 1; }
    [[ -d fuzz/corpus/$target ]] || { echo "fuzz.sh: no seed corpus fuzz/corpus/$target" >&2; exit 1; }
    work=$build/fuzz-work/$target
    artifacts=$build/fuzz-artifacts/$target
    mkdir -p "$work" "$artifacts"
    log=$build/fuzz-work/$target.log
    # -timeout: one input taking 10 s is a hang; -rss_limit_mb: a parser that balloons is a bug.
    # Leaks are reported by ASan (detect_leaks is on by default under libFuzzer).
    status=0
    "$binary" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
      -artifact_prefix="$artifacts/" "$work" "fuzz/corpus/$target" >"$log" 2>&1 || status=$?
    grep -E '^(stat::number_of_executed_runs|stat::new_units_added|stat::peak_rss_mb)' "$log" || true
    if ((status != 0)); then
      tail -60 "$log"
      echo "fuzz.sh: $target FAILED (exit $status); reproducer(s) in $artifacts/:" >&2
      ls -1 "$artifacts" >&2
      echo "fuzz.sh: reproduce with: $binary $artifacts/<file>   (full log: $log)" >&2
      exit 1
    fi
    echo "fuzz.sh: $target ran ${seconds}s clean"
    ;;
  list)
    targets
    ;;
  *)
    echo "usage: fuzz.sh build [BUILD_DIR] | run BUILD_DIR TARGET SECONDS | list" >&2
    exit 2
    ;;
esac

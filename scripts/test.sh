#!/usr/bin/env bash
# Installs what is missing, builds everything with warnings as errors, and runs every test with
# CTest. By default (and in CI) the build is the hardened one, docs/testing.md "Sanitizers":
# clang 14 with ASan+UBSan, so every unit, integration and bench test runs sanitized, and the
# concurrency tests once more from a TSan build; the fuzz targets from their own small clang
# build. EST_TEST_SANITIZE=0: GCC 12 without sanitizers (the compiler run.sh uses).
# Fails if any test fails or if no test ran. CTest's summary line ("100% tests passed, 0 tests
# failed out of N") is the last line printed.
set -euo pipefail
EST_ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$EST_ROOT"
# shellcheck source=lib/build.sh
source scripts/lib/build.sh

scripts/install-deps.sh
build=${EST_TEST_BUILD_DIR:-build-ci}
fuzz_build=$(realpath -m "${EST_FUZZ_BUILD_DIR:-build-fuzz}")
tsan_build=$(realpath -m "${EST_TSAN_BUILD_DIR:-build-tsan}")
# A build folder configured with another compiler than this run wants starts afresh.
fresh_for() { # fresh_for DIR COMPILER_PATTERN
  if [[ -f $1/CMakeCache.txt ]] && ! grep -q "^CMAKE_CXX_COMPILER:.*$2" "$1/CMakeCache.txt"; then
    rm -rf "$1"
  fi
}
# Line tables for sanitizer and crash stacks, not full debug info: -g1 compiles faster. The
# sanitized builds are -O0: clang compiles Beast's templates under ASan 2.7x faster than at -O1,
# and the tests' CPU goes mostly to OpenSSL (an optimised system library) and to waiting.
if [[ ${EST_TEST_SANITIZE:-1} == 1 ]]; then
  fresh_for "$build" clang++-14
  fresh_for "$tsan_build" clang++-14
  CXX=clang++-14 est_build "$build" all -DEST_WERROR=ON -DEST_BUILD_TESTS=ON \
    -DEST_SANITIZE=address,undefined -DEST_BUILD_FUZZERS=OFF \
    "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O0 -g1 -DNDEBUG" -DEST_FUZZ_BUILD_DIR="$fuzz_build" \
    -DEST_FUZZ_SECONDS="${EST_FUZZ_SECONDS:-30}" -DEST_TSAN_BUILD_DIR="$tsan_build"
  mapfile -t tsan_tests < <(sed -n 's/^EST_TSAN_TESTS:STRING=//p' "$build/CMakeCache.txt" | tr ';' '\n')
  CXX=clang++-14 est_build "$tsan_build" "${tsan_tests[*]}" -DEST_WERROR=ON -DEST_SANITIZE=thread \
    -DEST_BUILD_BENCH=OFF "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O0 -g1 -DNDEBUG"
  fuzz_flags="-O0 -g1"
else
  fresh_for "$build" /usr/bin/c++
  CXX=c++ est_build "$build" all -DEST_WERROR=ON -DEST_BUILD_TESTS=ON -DEST_SANITIZE= \
    -DEST_BUILD_FUZZERS=OFF -DEST_TSAN_BUILD_DIR= "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O2 -g1 -DNDEBUG" \
    -DEST_FUZZ_BUILD_DIR="$fuzz_build" -DEST_FUZZ_SECONDS="${EST_FUZZ_SECONDS:-30}"
  fuzz_flags="-O1 -g1"
fi
# The libFuzzer targets come from their own small clang build (ASan+UBSan and coverage hooks, only
# the libraries they link): coverage hooks in the test build would slow every test several-fold.
EST_FUZZ_CXXFLAGS=$fuzz_flags scripts/fuzz.sh build "$fuzz_build"
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1}

count=$(ctest --test-dir "$build" -N | sed -n 's/^Total Tests: *\([0-9]*\).*/\1/p')
if [[ -z $count || $count -eq 0 ]]; then
  echo "test.sh: CTest found no tests in $build; that is a failure, not a pass" >&2
  exit 1
fi

# CTest prints its summary before the total time and the list of failed tests: hold the summary
# back and print it last, so the verdict is always the final line. The pipeline's status is
# CTest's (pipefail); awk fails too if no summary appeared at all.
ctest --test-dir "$build" --output-on-failure --no-tests=error -j2 --timeout 600 2>&1 |
  awk '
    /^[0-9]+% tests passed, [0-9]+ tests? failed out of [0-9]+$/ { summary = $0; next }
    { print; fflush() }
    END {
      if (summary == "") { print "test.sh: CTest printed no summary"; exit 1 }
      print summary
    }'

#!/usr/bin/env bash
# Installs what is missing, builds everything with warnings as errors, and runs every test with
# CTest. Fails if any test fails or if no test ran. CTest's summary line ("100% tests passed,
# 0 tests failed out of N") is the last line printed.
set -euo pipefail
EST_ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$EST_ROOT"
# shellcheck source=lib/build.sh
source scripts/lib/build.sh

scripts/install-deps.sh
build=${EST_TEST_BUILD_DIR:-build-ci}
est_build "$build" all -DEST_WERROR=ON -DEST_BUILD_TESTS=ON

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

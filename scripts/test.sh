#!/usr/bin/env bash
# Installs what is missing, builds with warnings as errors, and runs every test with CTest.
# Fails if any test fails or if no test ran; CTest's summary is the last thing printed.
set -euo pipefail
EST_ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$EST_ROOT"
# shellcheck source=lib/build.sh
source scripts/lib/build.sh

scripts/install-deps.sh
build=${EST_TEST_BUILD_DIR:-build-test}
est_configure "$build" -DEST_WERROR=ON
cmake --build "$build" -j "$(nproc)"
cd "$build"
exec ctest --output-on-failure --no-tests=error -j "$(nproc)" --timeout 600

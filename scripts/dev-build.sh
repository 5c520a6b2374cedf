#!/usr/bin/env bash
# Developer build under a machine-wide lock: the machine has 2 cores, so two builds at once only
# slow each other down. Usage: scripts/dev-build.sh [cmake --build args, e.g. --target est_crypto_tests]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${EST_BUILD_DIR:-$root/build}
exec 9>/tmp/est-fleet-build.lock
flock 9
if [[ ! -f $build/CMakeCache.txt ]]; then
  cmake -S "$root" -B "$build" -G Ninja -DEST_WERROR=ON >/dev/null
fi
cmake --build "$build" -j2 "$@"

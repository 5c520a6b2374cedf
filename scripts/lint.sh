#!/usr/bin/env bash
# Style and static analysis with the checked-in .clang-format and .clang-tidy.
# Usage: scripts/lint.sh format        -- clang-format check (fast)
#        scripts/lint.sh tidy BUILD_DIR -- clang-tidy over src/ using BUILD_DIR/compile_commands.json
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
mode=${1:-format}
mapfile -t sources < <(git ls-files -co --exclude-standard -- 'src/*.cpp' 'src/*.hpp' 'tests/*.cpp' 'tests/*.hpp' 'fuzz/*.cpp' 'bench/*.cpp')
case $mode in
  format)
    clang-format --dry-run -Werror "${sources[@]}"
    echo "clang-format: ${#sources[@]} files clean"
    ;;
  tidy)
    build=${2:?usage: lint.sh tidy BUILD_DIR}
    mapfile -t units < <(printf '%s\n' "${sources[@]}" | grep '^src/.*\.cpp$')
    run-clang-tidy -quiet -p "$build" -j "$(nproc)" "${units[@]}" >"$build/clang-tidy.log" 2>&1 || {
      grep -E 'warning:|error:' "$build/clang-tidy.log" | sort -u | head -50
      exit 1
    }
    echo "clang-tidy: ${#units[@]} files clean"
    ;;
  *)
    echo "usage: lint.sh format | tidy BUILD_DIR" >&2
    exit 2
    ;;
esac

#!/usr/bin/env bash
# Style and static analysis with the checked-in .clang-format and .clang-tidy.
# Usage: scripts/lint.sh format        -- clang-format check (fast)
#        scripts/lint.sh tidy BUILD_DIR -- clang-tidy over src/ using BUILD_DIR/compile_commands.json
#                                          (units of one library tidied together)
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
    # Units of one library are tidied together (scripts/lib/tidy_unity.py: their headers are
    # parsed and matched once, a third of the time of one run per file). A .cpp that includes
    # another would slip past bugprone-suspicious-include in that grouped run: caught here.
    if grep -n '^#include ".*\.cpp"' "${units[@]}"; then
      echo "clang-tidy: a source file includes a .cpp file" >&2
      exit 1
    fi
    groups_dir=$build/tidy-groups
    rm -rf "$groups_dir"
    mapfile -t groups < <(python3 scripts/lib/tidy_unity.py "$build" "$groups_dir" 8 "${units[@]}")
    log=$build/clang-tidy.log
    : >"$log"
    # One clang-tidy per group, as many at once as there are cores; each group's output is
    # appended whole, so that the log reads group by group.
    printf '%s\n' "${groups[@]}" |
      xargs -P "$(nproc)" -I{} sh -c 'out=$(clang-tidy -quiet -p "$1" --config-file="$2" \
          --checks=-bugprone-suspicious-include "$3" 2>&1); status=$?
        printf "%s\n" "$out" | flock "$4" tee -a "$4" >/dev/null; exit $status' \
        tidy "$groups_dir" "$root/.clang-tidy" {} "$log" || {
      grep -E '(warning|error):' "$log" | sort -u | head -50
      exit 1
    }
    echo "clang-tidy: ${#units[@]} files clean (${#groups[@]} groups)"
    ;;
  *)
    echo "usage: lint.sh format | tidy BUILD_DIR" >&2
    exit 2
    ;;
esac

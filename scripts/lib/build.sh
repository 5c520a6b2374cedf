# Shared by run.sh and test.sh.
# shellcheck shell=bash

# est_configure BUILD_DIR [CMake flags...]: configures once (Ninja when present, ccache if found).
est_configure() {
  local build_dir=$1
  shift
  local generator=()
  command -v ninja >/dev/null && generator=(-G Ninja)
  if [[ ! -f $build_dir/CMakeCache.txt ]]; then
    cmake -S "$EST_ROOT" -B "$build_dir" "${generator[@]}" -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >/dev/null
  fi
}

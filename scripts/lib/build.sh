# Shared by run.sh and test.sh: configure and build into $1 with extra CMake flags after it.
# shellcheck shell=bash
est_build() {
  local build_dir=$1
  shift
  local generator=()
  command -v ninja >/dev/null && generator=(-G Ninja)
  if [[ ! -f $build_dir/CMakeCache.txt ]]; then
    cmake -S "$EST_ROOT" -B "$build_dir" "${generator[@]}" -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >/dev/null
  fi
  cmake --build "$build_dir" -j "$(nproc)"
}

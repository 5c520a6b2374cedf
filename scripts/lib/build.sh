# Shared by run.sh and test.sh. Expects EST_ROOT (the repository root).
# shellcheck shell=bash

# est_build BUILD_DIR "TARGET..."|all [CMake flags...]: configures (once: Ninja, RelWithDebInfo;
# ccache is picked up by CMakeLists.txt when installed) and builds. The configure + build runs
# under the same machine-wide lock as scripts/dev-build.sh, because two builds in one build
# folder corrupt Ninja's state, and two builds on one small machine only slow each other down.
est_build() {
  local build_dir=$1 targets=$2
  shift 2
  local target_args=()
  if [[ $targets != all ]]; then
    read -r -a target_args <<<"$targets"
    target_args=(--target "${target_args[@]}")
  fi
  (
    exec 9>/tmp/est-fleet-build.lock
    flock 9
    if [[ ! -f $build_dir/CMakeCache.txt ]]; then
      cmake -S "$EST_ROOT" -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >/dev/null
    elif (($# > 0)); then
      cmake -S "$EST_ROOT" -B "$build_dir" "$@" >/dev/null
    fi
    cmake --build "$build_dir" -j "$(nproc)" "${target_args[@]}"
  )
}

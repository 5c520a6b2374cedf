#!/usr/bin/env bash
# Installs the Debian 12 packages est-fleet builds and tests with. Idempotent: only what is
# missing is installed, so a second run costs one dpkg query.
set -euo pipefail

packages=(
  build-essential cmake ninja-build ccache pkg-config git python3
  g++ clang-14 libclang-rt-14-dev clang-format clang-tidy
  libssl-dev openssl
  libboost1.81-dev
  nlohmann-json3-dev libtomlplusplus-dev libcli11-dev libspdlog-dev libfmt-dev
  libsqlite3-dev sqlite3
  libpq-dev postgresql-15
  mosquitto mosquitto-clients libmosquitto-dev
  softhsm2 libp11-dev libp11-kit-dev libengine-pkcs11-openssl opensc
  libgtest-dev libgmock-dev googletest libbenchmark-dev
  curl ca-certificates
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if ((${#missing[@]} == 0)); then
  exit 0
fi

sudo_cmd=()
if [[ $(id -u) -ne 0 ]]; then
  sudo_cmd=(sudo)
fi
echo "install-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null

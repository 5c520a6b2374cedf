#!/usr/bin/env bash
# Runs COMMAND with a throw-away PostgreSQL 15 cluster: initdb in a temporary folder, the server
# on 127.0.0.1 at a free port with its unix socket in that folder, EST_TEST_POSTGRES_URL set to
# its superuser's URL; the server is stopped and the folder removed when COMMAND ends (or this
# script is interrupted). PostgreSQL refuses to run as root, so as root the cluster runs as
# `nobody` in a folder nobody owns.
#   usage: postgres_cluster.sh COMMAND [ARG...]
set -euo pipefail

if (($# == 0)); then
  echo "usage: postgres_cluster.sh COMMAND [ARG...]" >&2
  exit 2
fi

bindir=${EST_POSTGRES_BINDIR:-}
if [[ -z $bindir ]]; then
  for candidate in /usr/lib/postgresql/15/bin /usr/lib/postgresql/*/bin; do
    if [[ -x $candidate/initdb ]]; then
      bindir=$candidate
      break
    fi
  done
fi
if [[ -z $bindir || ! -x $bindir/initdb || ! -x $bindir/pg_ctl ]]; then
  echo "postgres_cluster.sh: initdb and pg_ctl not found (install postgresql-15: scripts/install-deps.sh)" >&2
  exit 1
fi

as_owner=()
if [[ $(id -u) -eq 0 ]]; then
  as_owner=(runuser -u nobody --)
fi

dir=$(mktemp -d "${TMPDIR:-/tmp}/est-postgres-XXXXXX")
chmod 0700 "$dir"
if ((${#as_owner[@]})); then
  chown nobody "$dir"
fi

stop() {
  local status=$?
  if [[ -f $dir/data/postmaster.pid ]]; then
    (cd "$dir" && "${as_owner[@]}" "$bindir/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1) || true
  fi
  rm -rf "$dir"
  exit "$status"
}
trap stop EXIT
trap 'exit 130' INT TERM

# Trust on loopback and the private socket only: the cluster lives as long as this script, in a
# folder only its owner can enter. fsync off: nothing here needs to survive a crash.
(cd "$dir" && "${as_owner[@]}" "$bindir/initdb" -D "$dir/data" -U est -A trust -E UTF8 \
  --locale=C --no-sync --no-instructions >"$dir/initdb.log" 2>&1) || {
  echo "postgres_cluster.sh: initdb failed:" >&2
  cat "$dir/initdb.log" >&2
  exit 1
}

free_port() {
  # A port the kernel just handed out and released; PostgreSQL binding it is the real test.
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])' 2>/dev/null ||
    echo $((20000 + RANDOM % 40000))
}

started=0
for _ in 1 2 3 4 5; do
  port=$(free_port)
  if (cd "$dir" && "${as_owner[@]}" "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 \
    -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
    start >/dev/null 2>&1); then
    started=1
    break
  fi
done
if ((started == 0)); then
  echo "postgres_cluster.sh: the PostgreSQL server did not start:" >&2
  cat "$dir/server.log" >&2 || true
  exit 1
fi

export EST_TEST_POSTGRES_URL="postgresql://est@127.0.0.1:$port/postgres"
export EST_TEST_POSTGRES_SOCKET_DIR="$dir"
"$@"

#!/usr/bin/env bash
# A private PostgreSQL cluster in a directory, on loopback: what the cluster mode's tests and
# benchmarks use as the journal. Nothing outside DIR is touched (no system cluster, no systemd).
#
#   scripts/postgres.sh start DIR [PORT]   creates the cluster if DIR has none, starts it on
#                                          127.0.0.1:PORT (default 55432) and prints its URL
#   scripts/postgres.sh stop DIR [MODE]    stops it: MODE fast (default: sessions ended, a
#                                          checkpoint) or immediate (as a crash: recovery at start)
#   scripts/postgres.sh url DIR            prints the URL of the cluster running in DIR
#
# As root the server runs as the `postgres` user (PostgreSQL refuses to run as root). Installs
# Debian's postgresql package first when no PostgreSQL is found.
set -euo pipefail
command="${1:-}"
dir="${2:-}"
[ -n "$command" ] && [ -n "$dir" ] || { sed -n '2,12p' "$0" >&2; exit 2; }

bindir=""
find_bindir() {
  if command -v pg_config >/dev/null && [ -x "$(pg_config --bindir)/initdb" ]; then
    bindir="$(pg_config --bindir)"
    return
  fi
  bindir="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)"
}
find_bindir
if [ -z "$bindir" ] || [ ! -x "$bindir/initdb" ]; then
  sudo=""
  if [ "$(id -u)" != 0 ]; then sudo="sudo"; fi
  echo "installing postgresql" >&2
  $sudo apt-get update -qq
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
  find_bindir
fi

as_server_user() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

mkdir -p "$dir"
dir="$(cd "$dir" && pwd)"
case "$command" in
  start)
    port="${3:-55432}"
    if [ "$(id -u)" = 0 ]; then chown postgres "$dir"; chmod 700 "$dir"; fi
    if [ ! -f "$dir/data/PG_VERSION" ]; then
      as_server_user "$bindir/initdb" -D "$dir/data" -A trust -U tether -E UTF8 >"$dir/initdb.log" 2>&1 \
        || { cat "$dir/initdb.log" >&2; exit 1; }
    fi
    # Settings for a test journal: fsync stays on (the journal's cost is part of what is measured).
    as_server_user "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 \
      -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c max_connections=200 -c shared_buffers=128MB" start >/dev/null \
      || { tail -20 "$dir/server.log" >&2; exit 1; }
    echo "$port" >"$dir/port"
    echo "postgres://tether@127.0.0.1:$port/postgres?sslmode=disable"
    ;;
  stop)
    mode="${3:-fast}"
    case "$mode" in fast|immediate) ;; *) echo "stop mode must be fast or immediate, not $mode" >&2; exit 2 ;; esac
    if [ -f "$dir/data/postmaster.pid" ]; then
      as_server_user "$bindir/pg_ctl" -D "$dir/data" -m "$mode" -w stop >/dev/null || true
    fi
    ;;
  url)
    echo "postgres://tether@127.0.0.1:$(cat "$dir/port")/postgres?sslmode=disable"
    ;;
  *)
    sed -n '2,12p' "$0" >&2
    exit 2
    ;;
esac

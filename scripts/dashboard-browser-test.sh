#!/usr/bin/env bash
# The dashboard as a person sees it: starts `tether dev` with two example workers, runs a few
# orders (one of them fails), renders the page in headless Chromium and checks that what it
# shows equals the API: the tiles, capacity and queue lines, worker and function counts against
# `GET /v1/status`, the runs table against `GET /v1/runs`, and one run's page (its steps, its
# status and its error) against `GET /v1/runs/{id}`. Then two `tether dev --journal` nodes on one
# PostgreSQL: the leader's cluster panel against its `GET /v1/cluster`, and the standby's address
# showing the leader's page. Fails with what differs.
#
# Needs a built `tether` and `tether-example` (swift build), python3, Chromium and PostgreSQL
# (installed with apt-get when missing and run as root). The journal's database is made on
# $TETHER_TEST_POSTGRES when set (scripts/test.sh sets it), else on a private server that
# scripts/postgres.sh starts and this script stops.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v chromium >/dev/null; then
    [ "$(id -u)" = 0 ] || { echo "dashboard-browser-test: chromium not found (apt-get install -y chromium)" >&2; exit 1; }
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
bin="$(swift build --show-bin-path)"
work="$(mktemp -d -t tether-browser.XXXXXX)"
pgdir=""
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    if [ -n "$pgdir" ]; then ./scripts/postgres.sh stop "$pgdir" || true; rm -rf "$pgdir"; fi
    rm -rf "$work"
}
trap cleanup EXIT

"$bin/tether" dev --http-port 0 --worker-port 0 --data "$work/data" --durability relaxed > "$work/dev.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do
    # The "coordinator running" line's metadata, in any order: http=HOST:PORT ... workers=HOST:PORT.
    http="$(sed -n 's/.* http=127.0.0.1:\([0-9]*\) .*coordinator running.*/\1/p' "$work/dev.log" | head -1)"
    workers="$(sed -n 's/.* workers=127.0.0.1:\([0-9]*\) .*coordinator running.*/\1/p' "$work/dev.log" | head -1)"
    [ -n "$http" ] && break
    sleep 0.2
done
[ -n "$http" ] || { cat "$work/dev.log" >&2; exit 1; }
for instance in browser-1 browser-2; do
    TETHER_COORDINATOR="127.0.0.1:$workers" TETHER_SIGNING_KEY="$(cat "$work/data/signing-key")" \
        TETHER_CA_FILE="$work/data/tls/ca.pem" TETHER_INSTANCE_ID="$instance" \
        "$bin/tether-example" > "$work/$instance.log" 2>&1 &
    pids+=($!)
done
python3 scripts/dashboard_check.py "http://127.0.0.1:$http"

# Cluster mode: two nodes on fixed ports (a node advertises them) sharing a fresh database.
postgres="${TETHER_TEST_POSTGRES:-}"
if [ -z "$postgres" ]; then
    # A directory of its own: postgres.sh hands it to the server's user, who cannot enter $work.
    pgdir="$(mktemp -d -t tether-browser-pg.XXXXXX)"
    postgres="$(./scripts/postgres.sh start "$pgdir" "$((20000 + RANDOM % 20000))" | tail -1)"
fi
database="dashboard_$$_$RANDOM"
psql "$postgres" -v ON_ERROR_STOP=1 -qc "CREATE DATABASE $database"
journal="$(python3 -c 'import sys, urllib.parse as u; print(u.urlsplit(sys.argv[1])._replace(path="/" + sys.argv[2]).geturl())' "$postgres" "$database")"
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
nodes=()
for node in node-a node-b; do
    http="$(free_port)"
    "$bin/tether" dev --journal "$journal" --node-id "$node" --http-port "$http" --worker-port "$(free_port)" \
        --data "$work/$node" --durability relaxed > "$work/$node.log" 2>&1 &
    pids+=($!)
    nodes+=("http://127.0.0.1:$http")
done
python3 scripts/dashboard_check.py --cluster "${nodes[@]}"

#!/usr/bin/env bash
# The dashboard as a person sees it: starts `tether dev` with two example workers, runs a few
# orders (one of them fails), renders the page in headless Chromium and checks that what it
# shows equals the API: the tiles, capacity and queue lines, worker and function counts against
# `GET /v1/status`, the runs table against `GET /v1/runs`, and one run's page (its steps, its
# status and its error) against `GET /v1/runs/{id}`. Fails with what differs.
#
# Needs a built `tether` and `tether-example` (swift build), python3, and Chromium
# (installed with apt-get when missing and run as root).
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v chromium >/dev/null; then
    [ "$(id -u)" = 0 ] || { echo "dashboard-browser-test: chromium not found (apt-get install -y chromium)" >&2; exit 1; }
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
bin="$(swift build --show-bin-path)"
work="$(mktemp -d -t tether-browser.XXXXXX)"
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

"$bin/tether" dev --http-port 0 --worker-port 0 --data "$work/data" --durability relaxed > "$work/dev.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do
    http="$(sed -n 's/.*http=127.0.0.1:\([0-9]*\) workers=127.0.0.1:\([0-9]*\).*coordinator running.*/\1/p' "$work/dev.log" | head -1)"
    workers="$(sed -n 's/.*http=127.0.0.1:\([0-9]*\) workers=127.0.0.1:\([0-9]*\).*coordinator running.*/\2/p' "$work/dev.log" | head -1)"
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

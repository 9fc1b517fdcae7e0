#!/usr/bin/env bash
# Sets up what is missing, builds, and runs the dev coordinator with the example worker:
# `tether dev` on embedded defaults (./.tether: RocksDB, self-signed TLS, a dev signing key)
# plus one `tether-example` worker connected to it. Ctrl-C stops both.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
swift build --product tether
swift build --product tether-example
bin="$(swift build --show-bin-path)"
data="${TETHER_DATA:-.tether}"

"$bin/tether" dev --data "$data" "$@" &
coordinator=$!
trap 'kill -TERM $worker $coordinator 2>/dev/null; wait' EXIT INT TERM
for _ in $(seq 1 100); do
  [ -f "$data/signing-key" ] && curl -sf http://127.0.0.1:7420/healthz >/dev/null 2>&1 && break
  sleep 0.1
done

TETHER_COORDINATOR=127.0.0.1:7421 \
TETHER_SIGNING_KEY="$(cat "$data/signing-key")" \
TETHER_CA_FILE="$data/tls/ca.pem" \
TETHER_INSTANCE_ID="example-worker" \
  "$bin/tether-example" &
worker=$!
wait $coordinator

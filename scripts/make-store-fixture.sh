#!/usr/bin/env bash
# Writes the store fixture of the current key layout with this release's own binaries:
# `tether dev` and the example worker, five orders (two completed, one failed, one cancelled,
# one still running when the coordinator stops), then copies the RocksDB directory to
# Tests/TetherStoreTests/Fixtures/store-layout-N/ with expected.json (the runs as the API
# listed them). The tests open it, so a later layout change must migrate it.
# Run it when the layout version changes: scripts/make-store-fixture.sh
set -euo pipefail
cd "$(dirname "$0")/.."
swift build --product tether >/dev/null
swift build --product tether-example >/dev/null
bin="$(swift build --show-bin-path)"
version="$(sed -n 's/.*public static let schemaVersion = \([0-9]*\).*/\1/p' Sources/TetherStore/Layout/KeyLayout.swift)"
out="Tests/TetherStoreTests/Fixtures/store-layout-$version"
work="$(mktemp -d)"
http=17490
worker_port=17491
url="http://127.0.0.1:$http"
"$bin/tether" dev --data "$work/dev" --http-port $http --worker-port $worker_port >"$work/coordinator.log" 2>&1 &
coordinator=$!
trap 'kill -TERM ${example:-} $coordinator 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 1 200); do
  [ -f "$work/dev/signing-key" ] && curl -sf "$url/readyz" >/dev/null 2>&1 && break
  sleep 0.1
done
TETHER_COORDINATOR=127.0.0.1:$worker_port TETHER_SIGNING_KEY="$(cat "$work/dev/signing-key")" \
TETHER_CA_FILE="$work/dev/tls/ca.pem" TETHER_INSTANCE_ID=fixture-worker TETHER_EXAMPLE_CHARGE_MS=4000 \
  "$bin/tether-example" >"$work/worker.log" 2>&1 &
example=$!
until curl -sf "$url/v1/status" | grep -q fixture-worker; do sleep 0.1; done
send() { "$bin/tether" send order/created --url "$url" --id "$1" --data "$2" >/dev/null; }
send order-1 '{"orderId":"1","amount":1200,"customer":"ada"}'
send order-2 '{"orderId":"2","amount":0}'
send order-3 '{"orderId":"3","amount":800}'
sleep 9  # order-1 and order-3 complete (charges of 4 s), order-2 fails at once
send order-4 '{"orderId":"4","amount":500}'
sleep 1
run4="$(curl -sf "$url/v1/runs?status=running&limit=1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["runs"][0]["id"])')"
"$bin/tether" runs cancel "$run4" --url "$url" >/dev/null
send order-5 '{"orderId":"5","amount":700}'
sleep 1  # order-5 is in its slow charge when the coordinator stops
curl -sf "$url/v1/runs?limit=100" | python3 -c '
import json, sys
runs = json.load(sys.stdin)["runs"]
print(json.dumps(sorted([{"id": r["id"], "status": r["status"]} for r in runs], key=lambda r: r["id"]), indent=2))
' >"$work/expected.json"
kill -TERM $coordinator; wait $coordinator || true
kill -TERM $example; wait $example || true
rm -rf "$out"
mkdir -p "$out"
for file in "$work/dev/db"/*; do
  case "$(basename "$file")" in LOCK|LOG|LOG.old.*) ;; *) cp "$file" "$out/" ;; esac
done
cp "$work/expected.json" "$out/expected.json"
echo "wrote $out:"
cat "$out/expected.json"

#!/usr/bin/env bash
# Reproduces docs/dashboard.png and docs/dashboard-run.png: starts `tether dev` in a temporary
# data directory with four example workers (three `tether-example` order workers on two app
# versions, one `tether-example-fulfilment`), sends a stream of orders and shipments that varies
# over a minute so the capacity chart has a shape, and captures the dashboard and one shipment's
# run timeline with headless Chromium.
#
# Needs: chromium (apt-get install -y chromium), python3 with websocket-client
# (pip install websocket-client), curl. Optional: ImageMagick `convert` to shrink the PNGs.
# Environment: LOAD_SECONDS (default 60), HTTP_PORT (7440), WORKER_PORT (7441), OUT (docs).
set -euo pipefail
cd "$(dirname "$0")/.."
load_seconds="${LOAD_SECONDS:-60}"
http_port="${HTTP_PORT:-7440}"
worker_port="${WORKER_PORT:-7441}"
out="${OUT:-docs}"
url="http://127.0.0.1:$http_port"

python3 -c 'import websocket' 2>/dev/null || { echo "pip install websocket-client" >&2; exit 1; }
swift build --product tether
swift build --product tether-example
swift build --product tether-example-fulfilment
bin="$(swift build --show-bin-path)"
data="$(mktemp -d /tmp/tether-screenshot.XXXXXX)"

pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$data"
}
trap cleanup EXIT INT TERM

"$bin/tether" dev --data "$data" --http-port "$http_port" --worker-port "$worker_port" >"$data/coordinator.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do
  [ -f "$data/signing-key" ] && curl -sf "$url/healthz" >/dev/null 2>&1 && break
  sleep 0.1
done

worker() { # instance app-version capacity executable [env...]
  local instance="$1" version="$2" capacity="$3" executable="$4"
  shift 4
  env TETHER_COORDINATOR="127.0.0.1:$worker_port" TETHER_SIGNING_KEY="$(cat "$data/signing-key")" \
    TETHER_CA_FILE="$data/tls/ca.pem" TETHER_INSTANCE_ID="$instance" TETHER_APP_VERSION="$version" \
    TETHER_MAX_CONCURRENCY="$capacity" "$@" "$bin/$executable" >>"$data/workers.log" 2>&1 &
  pids+=($!)
}
worker orders-1 1.4.0 8 tether-example TETHER_EXAMPLE_CHARGE_MS=1500
worker orders-2 1.4.0 8 tether-example TETHER_EXAMPLE_CHARGE_MS=1500
worker orders-3 1.5.0 12 tether-example TETHER_EXAMPLE_CHARGE_MS=1500
worker shipping-1 2.0.0 6 tether-example-fulfilment TETHER_EXAMPLE_STEP_MS=700
for _ in $(seq 1 100); do
  [ "$(curl -sf "$url/v1/status" | grep -o '"instanceId"' | wc -l)" -ge 4 ] && break
  sleep 0.2
done

post() { curl -sf -X POST "$url/v1/events" -H 'Content-Type: application/json' -d "$1" >/dev/null; }

# The browser watches from the start, so the charts fill from the status stream as well.
python3 scripts/dashboard-screenshot.py "$url/" "$out/dashboard.png" --wait "$((load_seconds - 2))" \
  --width 1440 --height 1500 &
shot=$!

# Orders per second: a ramp up to more than the 28 order slots can take (each order holds one
# for ~1.5 s, so about 18 orders/s), so the last quarter builds a queue; the dashboard is captured
# then. A shipment every 4 s, approved 2 s later.
n=0
for second in $(seq 1 "$load_seconds"); do
  phase=$((second * 4 / load_seconds))
  case $phase in 0) rate=5 ;; 1) rate=12 ;; 2) rate=17 ;; *) rate=26 ;; esac
  events=""
  for _ in $(seq 1 "$rate"); do
    n=$((n + 1))
    amount=$(( (n % 23 == 0) ? 0 : 1000 + (n * 37) % 9000 ))
    events="$events{\"name\":\"order/created\",\"data\":{\"orderId\":\"o-$n\",\"amount\":$amount}},"
  done
  post "[${events%,}]" &
  if [ $((second % 4)) -eq 1 ]; then post "{\"name\":\"shipment/requested\",\"data\":{\"orderId\":\"s-$second\",\"weightKg\":3}}"; fi
  if [ $((second % 4)) -eq 3 ]; then post "{\"name\":\"shipment/approved\",\"data\":{\"orderId\":\"s-$((second - 2))\",\"by\":\"ann\"}}"; fi
  sleep 1
done
wait "$shot"

# One shipment that went through every kind of step.
run_id="$(curl -sf "$url/v1/runs?function=logistics:fulfil&status=completed&limit=1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["runs"][0]["id"])')"
python3 scripts/dashboard-screenshot.py "$url/#/runs/$run_id" "$out/dashboard-run.png" --wait 3 --width 1440 --height 1100

if convert -version 2>/dev/null | grep -q ImageMagick; then
  for png in "$out/dashboard.png" "$out/dashboard-run.png"; do convert "$png" -colors 256 "PNG8:$png"; done
fi
ls -l "$out/dashboard.png" "$out/dashboard-run.png"
curl -sf "$url/v1/status" | python3 -c 'import json,sys; s=json.load(sys.stdin); print("at the end:", len(s["workers"]), "workers,", s["capacity"], s["queue"])'

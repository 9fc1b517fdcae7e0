#!/usr/bin/env bash
# Fuzzes the HTTP API of a live coordinator with schemathesis, from the document it serves
# (`GET /openapi.json`, which is Sources/TetherAPI/openapi.yaml): every operation, every check,
# under `tether serve` with an API key and without one. Any failure fails the script.
# `POST /v1/admin/drain` is left out: it stops the coordinator. `tether dev` is not run: it has
# no API keys, so every check that a missing key is refused would fail there by design.
#
# Needs a built `tether` (swift build); schemathesis goes into the scripts' venv (scripts/venv.sh).
# TETHER_SCHEMATHESIS_EXAMPLES sets the examples per operation (default 30).
set -euo pipefail
cd "$(dirname "$0")/.."
venv="$(./scripts/venv.sh schemathesis)"
bin="$(swift build --show-bin-path)/tether"
examples="${TETHER_SCHEMATHESIS_EXAMPLES:-30}"
work="$(mktemp -d -t tether-schemathesis.XXXXXX)"
pid=""
cleanup() {
    [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT

# Starts a coordinator (its arguments after `tether`) and sets `url` from its log.
start() {
    local log="$work/coordinator.log"
    : > "$log"
    "$bin" "$@" > "$log" 2>&1 &
    pid=$!
    for _ in $(seq 100); do
        port="$(sed -n 's/.*http=127.0.0.1:\([0-9]*\).*coordinator running.*/\1/p' "$log" | head -1)"
        [ -n "$port" ] && break
        sleep 0.2
    done
    [ -n "$port" ] || { cat "$log" >&2; echo "the coordinator did not start" >&2; exit 1; }
    url="http://127.0.0.1:$port"
}

stop() {
    kill "$pid" && wait "$pid" 2>/dev/null || true
    pid=""
}

run() {
    echo "== schemathesis: $1" >&2
    shift
    "$venv/bin/schemathesis" --config-file scripts/schemathesis.toml run "$url/openapi.json" --url "$url" \
        --checks all --exclude-operation-id drain --max-examples "$examples" --seed 1 --no-color "$@" \
        > "$work/report.txt" 2>&1 || { cat "$work/report.txt" | cut -c1-400 >&2; exit 1; }
    tail -4 "$work/report.txt" | cut -c1-200 >&2
}

# `tether serve` with an API key.
"$bin" keys generate --out "$work/signing-key" >/dev/null
"$bin" certs generate --out "$work/tls" --ip 127.0.0.1 >/dev/null
key="schemathesis-$RANDOM$RANDOM"
cat > "$work/serve.json" <<JSON
{"host": "127.0.0.1", "httpPort": 0, "workerPort": 0, "data": "data", "durability": "relaxed",
 "tls": {"certificate": "tls/server.pem", "privateKey": "tls/server-key.pem"},
 "signingKeyFiles": ["signing-key"]}
JSON
TETHER_API_KEYS="$key" start serve --config "$work/serve.json"
run "serve, with the API key" -H "Authorization: Bearer $key"
run "serve, without a key"
stop

echo "schemathesis: no failures" >&2

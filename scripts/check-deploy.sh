#!/usr/bin/env bash
# Checks deploy/ offline and against live coordinators:
#
# 1. Renders every overlay of deploy/kubernetes with `kubectl kustomize` (single-node and
#    cluster, each also with the HPA component in place of KEDA's) and validates every object:
#    Kubernetes' own kinds against the 1.29 and 1.34 schemas (kubernetes-validate, strict), the
#    ScaledObject and the ServiceMonitor against scripts/deploy-crd-schemas, and the objects
#    against each other (scripts/deploy_validate.py).
# 2. `promtool check rules` and `promtool test rules` on deploy/prometheus (the unit tests).
# 3. Runs the rendered manifests on this machine (scripts/deploy_pod.py): each pod's ConfigMaps,
#    Secrets (made with `tether keys generate` and `tether certs generate`, as the docs say) and
#    volumes laid out under a directory, its image's entrypoint run with the manifest's args and
#    env. The single node: its probes answer, /metrics refuses a scrape without the
#    ServiceMonitor's API key and serves it with it, the example worker of the worker Deployment
#    connects and runs orders, a worker with a wrong key is refused, and SIGTERM stops it within
#    terminationGracePeriodSeconds. With $TETHER_TEST_POSTGRES (a URL of a server where databases
#    may be created; scripts/test.sh sets it), the cluster overlay's three nodes too, on a new
#    database: one leads, the others stand by (readiness 503) naming the leader's advertised
#    addresses, and a standby takes over when the leader gets SIGTERM.
# 4. Every metric name used by the Grafana dashboard, the rules, the KEDA query, the HPA's
#    prometheus-adapter rules and the docs is served by the scraped coordinators
#    (scripts/deploy_metrics.py); every rule and every dashboard query is evaluated against the
#    scraped series in a generated `promtool test rules` file (scripts/deploy_rule_tests.py).
#    Without $TETHER_TEST_POSTGRES no cluster node is scraped: the names and alerts that were
#    therefore not checked are listed.
#
# Needs kubectl (with kustomize), a built tether and tether-example (TETHER_BIN and
# TETHER_EXAMPLE_BIN, default .build/debug/…), curl, and promtool (Debian's prometheus package,
# installed with apt-get when missing and run as root). The Python packages go into the scripts'
# venv (scripts/venv.sh). Every process, directory and database it makes is removed at exit;
# TETHER_CHECK_DEPLOY_KEEP=DIR keeps a copy of the renderings, scrapes and generated tests.
set -euo pipefail
cd "$(dirname "$0")/.."
started=$SECONDS
fail() { echo "check-deploy: error: $*" >&2; exit 1; }

bin="${TETHER_BIN:-.build/debug/tether}"
example="${TETHER_EXAMPLE_BIN:-.build/debug/tether-example}"
[ -x "$bin" ] || fail "no tether binary at $bin (swift build, or set TETHER_BIN)"
[ -x "$example" ] || fail "no tether-example binary at $example (swift build, or set TETHER_EXAMPLE_BIN)"
bin="$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")"
example="$(cd "$(dirname "$example")" && pwd)/$(basename "$example")"
command -v kubectl >/dev/null \
    || fail "kubectl not found: install kubectl 1.27 or later (kustomize built in) to render deploy/kubernetes"
command -v curl >/dev/null || fail "curl not found (apt-get install -y curl)"
if ! command -v promtool >/dev/null; then
    [ "$(id -u)" = 0 ] || fail "promtool not found (apt-get install -y prometheus)"
    echo "check-deploy: installing promtool (Debian's prometheus package)" >&2
    # Only promtool is wanted: keep the package's service from starting while it installs.
    guard=""
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d && guard=yes
    fi
    install=(env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus)
    status=0
    "${install[@]}" >/dev/null 2>&1 || { apt-get update -qq && "${install[@]}" >/dev/null; } || status=$?
    [ -z "$guard" ] || rm -f /usr/sbin/policy-rc.d
    if [ "$status" != 0 ] || ! command -v promtool >/dev/null; then fail "could not install promtool"; fi
fi
venv="$(./scripts/venv.sh kubernetes-validate pyyaml jsonschema promql-parser)"
py="$venv/bin/python"

work="$(mktemp -d -t tether-deploy.XXXXXX)"
pids=()
database=""
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
    if [ -n "$database" ]; then
        psql "$TETHER_TEST_POSTGRES" -qc "DROP DATABASE IF EXISTS $database WITH (FORCE)" >/dev/null 2>&1 || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT

# 1. Render and validate.
echo "== kubectl kustomize, kubernetes-validate" >&2
cp -r deploy/kubernetes "$work/kubernetes"
rendered=()
for overlay in single-node cluster; do
    kubectl kustomize "deploy/kubernetes/$overlay" > "$work/$overlay.yaml"
    rendered+=("$work/$overlay.yaml")
    # The same overlay with a plain HPA in place of KEDA, as docs/operations.md describes it.
    kustomization="$work/kubernetes/$overlay/kustomization.yaml"
    sed -i 's#- \.\./components/keda$#- ../components/hpa#' "$kustomization"
    grep -q -- '- ../components/hpa$' "$kustomization" || fail "$overlay: no ../components/keda line to swap"
    kubectl kustomize "$work/kubernetes/$overlay" > "$work/$overlay-hpa.yaml"
    rendered+=("$work/$overlay-hpa.yaml")
done
"$py" scripts/deploy_validate.py "${rendered[@]}" || fail "the rendered manifests do not validate (above)"

# 2. The rules and their unit tests.
echo "== promtool" >&2
promtool check rules deploy/prometheus/tether-rules.yaml || fail "promtool check rules failed (above)"
promtool test rules deploy/prometheus/tether-rules.test.yaml || fail "the rules' unit tests failed (above)"

# 3. Live. The Secrets and the ConfigMap docs/operations.md has you create, as files.
objects="$work/objects"
mkdir -p "$objects/secret/tether-signing-key" "$objects/secret/tether-tls" "$objects/secret/tether-api-keys" \
    "$objects/secret/tether-journal" "$objects/configmap/tether-ca"
"$bin" keys generate --out "$objects/secret/tether-signing-key/signing-key" >/dev/null
"$bin" certs generate --out "$work/tls" --host tether --host tether-headless --host tether-0.tether-headless \
    --host tether-1.tether-headless --host tether-2.tether-headless --ip 127.0.0.1 >/dev/null
cp "$work/tls/server.pem" "$objects/secret/tether-tls/tls.crt"
cp "$work/tls/server-key.pem" "$objects/secret/tether-tls/tls.key"
cp "$work/tls/ca.pem" "$objects/configmap/tether-ca/ca.pem"
api_key="client-$RANDOM$RANDOM$RANDOM"
prometheus_key="prometheus-$RANDOM$RANDOM$RANDOM"
echo "$api_key" > "$objects/secret/tether-api-keys/api-key"
echo "$prometheus_key" > "$objects/secret/tether-api-keys/prometheus"

free_port() { "$py" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# Runs a workload's pod from a rendering: start_pod RENDERED KIND/NAME ORDINAL ROOT [deploy_pod.py options]...
# Sets `pid`, and the pod's settings (grace, readiness_path, liveness_path) from its pod.env.
grace="" readiness_path="" liveness_path=""
start_pod() {
    local rendering="$1" workload="$2" ordinal="$3" root="$4"
    shift 4
    local entrypoint=(--command "$bin" --command serve)
    [ "${workload%%/*}" = Deployment ] && entrypoint=(--command "$example")
    mkdir -p "$root"
    local command
    mapfile -t command < <("$py" scripts/deploy_pod.py "$rendering" --workload "$workload" --ordinal "$ordinal" \
        --root "$root" --shared "$work/shared-$(basename "$rendering" .yaml)" --objects "$objects" \
        "${entrypoint[@]}" "$@")
    [ "${#command[@]}" -gt 0 ] || fail "could not lay out $workload $ordinal of $(basename "$rendering")"
    "${command[@]}" > "$root/log" 2>&1 &
    pid=$!
    pids+=("$pid")
    # shellcheck disable=SC1091
    source "$root/pod.env"
}

status() { curl -s -o /dev/null -w '%{http_code}' "$@" || true; } # status URL [curl options]...: of a GET
answers() { [ "$(status "$1")" = "$2" ]; }                          # answers URL STATUS
scrape() { curl -sf -H "Authorization: Bearer $prometheus_key" "$1/metrics"; } # with the ServiceMonitor's key
metric() { # metric URL NAME[{labels}]: the sum of the samples whose name and labels start so
    scrape "$1" | awk -v name="$2" 'index($1, name) == 1 { sum += $NF } END { print sum + 0 }'
}
metric_is() { [ "$(metric "$1" "$2")" = "$3" ]; } # metric_is URL NAME VALUE

wait_for() { # wait_for SECONDS DESCRIPTION LOG COMMAND...
    local seconds="$1" what="$2" log="$3"
    shift 3
    for _ in $(seq $((seconds * 5))); do
        "$@" && return 0
        sleep 0.2
    done
    tail -20 "$log" >&2
    fail "$what: not within ${seconds} s"
}

milliseconds() { echo $(( ${EPOCHREALTIME/[,.]/} / 1000 )); }

# SIGTERM, and the exit with status 0 within the pod's terminationGracePeriodSeconds.
stop_within_grace() { # stop_within_grace PID GRACE WHAT
    local pid="$1" grace="$2" what="$3" begun code=0 took
    begun="$(milliseconds)"
    kill -TERM "$pid"
    wait "$pid" || code=$?
    took=$(( $(milliseconds) - begun ))
    [ "$code" = 0 ] || fail "$what exited with status $code after SIGTERM"
    [ "$took" -lt $((grace * 1000)) ] || fail "$what took $took ms to stop, not under its grace period of $grace s"
    echo "$what stopped on SIGTERM in $took ms (grace period $grace s)" >&2
}

echo "== the single-node overlay, live" >&2
http="$(free_port)" workers="$(free_port)"
url="http://127.0.0.1:$http"
start_pod "$work/single-node.yaml" StatefulSet/tether 0 "$work/single" \
    --append-arg=--http-port --append-arg="$http" --append-arg=--worker-port --append-arg="$workers"
coordinator=$pid coordinator_grace=$grace
wait_for 60 "tether serve from the single-node overlay answering $liveness_path" "$work/single/log" \
    answers "$url$liveness_path" 200
answers "$url$readiness_path" 200 || fail "$readiness_path is not 200 on the single node"
answers "$url/metrics" 401 || fail "/metrics answers a scrape without an API key (metricsPublic is false)"
scrape "$url" >/dev/null || fail "/metrics refuses the ServiceMonitor's API key"
# The example worker of the worker Deployment; a slow charge step keeps its slots busy for a scrape.
start_pod "$work/single-node.yaml" Deployment/tether-example-worker 0 "$work/worker" \
    --set-env "TETHER_COORDINATOR=127.0.0.1:$workers" --set-env TETHER_EXAMPLE_CHARGE_MS=1500
wait_for 30 "the worker connecting" "$work/worker/log" metric_is "$url" 'tether_workers_connected{app="shop"}' 1
# More orders than the worker has slots: some run, some wait.
events="$("$py" -c '
import json, sys
print(json.dumps([{"name": "order/created", "data": {"orderId": f"o-{i}", "amount": 100 + i}}
                  for i in range(int(sys.argv[1]) + 4)]))' "$(metric "$url" 'tether_capacity_slots{app="shop"}')")"
curl -sf -H "Authorization: Bearer $api_key" -H 'Content-Type: application/json' -d "$events" "$url/v1/events" \
    >/dev/null || fail "POST /v1/events with the API key failed"
busy() {
    scrape "$url" > "$work/busy.prom" || return 1
    awk 'index($1, "tether_capacity_in_use_slots{app=\"shop\"}") == 1 && $NF > 0 { running = 1 }
         index($1, "tether_queue_depth{function=\"shop:") == 1 && $NF > 0 { queued = 1 }
         END { exit !(running && queued) }' "$work/busy.prom"
}
wait_for 20 "steps running and queued at once" "$work/single/log" busy
wait_for 90 "every order run to end" "$work/worker/log" metric_is "$url" tether_runs_active 0
# A worker with another signing key: refused (unauthenticated), and it exits 1.
code=0
env -i PATH="$PATH" TETHER_COORDINATOR="127.0.0.1:$workers" TETHER_CA_FILE="$work/tls/ca.pem" \
    TETHER_SIGNING_KEY="$("$bin" keys generate)" timeout 30 "$example" > "$work/refused.log" 2>&1 || code=$?
if [ "$code" != 1 ] || ! grep -q unauthenticated "$work/refused.log"; then
    cat "$work/refused.log" >&2
    fail "a worker with a wrong signing key was not refused"
fi
scrape "$url" > "$work/idle.prom"
stop_within_grace "$coordinator" "$coordinator_grace" "the single node"

cluster_args=()
cluster_scrapes=()
if [ -n "${TETHER_TEST_POSTGRES:-}" ]; then
    echo "== the cluster overlay, live, on PostgreSQL" >&2
    database="deploy_$$_$RANDOM"
    psql "$TETHER_TEST_POSTGRES" -v ON_ERROR_STOP=1 -qc "CREATE DATABASE $database"
    "$py" -c '
import sys, urllib.parse as u
print(u.urlsplit(sys.argv[1])._replace(path="/" + sys.argv[2]).geturl())' \
        "$TETHER_TEST_POSTGRES" "$database" > "$objects/secret/tether-journal/url"
    declare -A node_url node_pid node_workers node_grace
    for ordinal in 0 1 2; do
        node="tether-$ordinal" http="$(free_port)" node_workers[$node]="$(free_port)"
        node_url[$node]="http://127.0.0.1:$http"
        start_pod "$work/cluster.yaml" StatefulSet/tether "$ordinal" "$work/$node" \
            --append-arg=--http-port --append-arg="$http" \
            --append-arg=--worker-port --append-arg="${node_workers[$node]}"
        node_pid[$node]=$pid node_grace[$node]=$grace node_ready=$readiness_path
        wait_for 60 "$node answering $liveness_path" "$work/$node/log" answers "${node_url[$node]}$liveness_path" 200
        # tether-0 starts first and leads; the others stand by.
        if [ "$ordinal" = 0 ]; then
            wait_for 30 "tether-0 leading ($node_ready 200)" "$work/$node/log" \
                answers "${node_url[$node]}$node_ready" 200
        fi
    done
    cluster_view() { # cluster_view NODE: its GET /v1/cluster, into a file
        curl -sf -H "Authorization: Bearer $api_key" "${node_url[$1]}/v1/cluster" > "$work/$1.cluster.json"
    }
    for node in tether-1 tether-2; do
        wait_for 30 "$node standing by" "$work/$node/log" cluster_view "$node"
        "$py" - "$work/$node.cluster.json" "$node" <<'PY'
import json, sys
view, node = json.load(open(sys.argv[1])), sys.argv[2]
leader = {"nodeId": "tether-0", "http": "tether-0.tether-headless:7420", "worker": "tether-0.tether-headless:7421"}
expected = {"role": "standby", "nodeId": node, "leader": leader}
got = {"role": view["role"], "nodeId": view["nodeId"], "leader": view["leader"]}
if got != expected:
    sys.exit(f"{node}: GET /v1/cluster says {got}, expected {expected}")
PY
        answers "${node_url[$node]}$node_ready" 503 || fail "$node is a standby, and its $node_ready is not 503"
    done
    leader_url="${node_url[tether-0]}"
    start_pod "$work/cluster.yaml" Deployment/tether-example-worker 0 "$work/cluster-worker" \
        --set-env "TETHER_COORDINATOR=127.0.0.1:${node_workers[tether-0]}"
    wait_for 30 "the worker connecting to the leader" "$work/cluster-worker/log" \
        metric_is "$leader_url" 'tether_workers_connected{app="shop"}' 1
    curl -sf -H "Authorization: Bearer $api_key" -d '{"name":"order/created","data":{"orderId":"c-1","amount":1}}' \
        "$leader_url/v1/events" >/dev/null || fail "POST /v1/events to the leader failed"
    wait_for 30 "the order run to end on the cluster" "$work/cluster-worker/log" \
        metric_is "$leader_url" 'tether_runs_finished_total{function="shop:process-order",status="completed"}' 1
    for node in tether-0 tether-1 tether-2; do
        scrape "${node_url[$node]}" > "$work/$node.prom"
        cluster_scrapes+=(--cluster-scrape "$work/$node.prom")
    done
    cluster_args=(--cluster "tether-0:leader=$work/tether-0.prom" --cluster "tether-1:standby=$work/tether-1.prom"
        --cluster "tether-2:standby=$work/tether-2.prom")
    # A rolling restart's last step: the leader gets SIGTERM, hands the lease over, a standby leads.
    stop_within_grace "${node_pid[tether-0]}" "${node_grace[tether-0]}" "the cluster's leader"
    begun="$(milliseconds)"
    takeover() { answers "${node_url[tether-1]}$node_ready" 200 || answers "${node_url[tether-2]}$node_ready" 200; }
    wait_for 15 "a standby taking over after the leader's SIGTERM" "$work/tether-1/log" takeover
    echo "a standby answered $node_ready 200 $(( $(milliseconds) - begun )) ms after the leader stopped" >&2
else
    echo "== the cluster overlay, live: skipped (TETHER_TEST_POSTGRES is not set)" >&2
fi

# 4. Names and rules against the scrapes.
echo "== metric names, rules and dashboard queries against the scrapes" >&2
rendered_args=()
for file in "${rendered[@]}"; do rendered_args+=(--rendered "$file"); done
"$py" scripts/deploy_metrics.py --scrape "$work/idle.prom" --scrape "$work/busy.prom" "${cluster_scrapes[@]}" \
    "${rendered_args[@]}" || fail "metric names used in deploy/ or docs/ are not served (above)"
namespace="$("$py" -c '
import sys, yaml
statefulset = next(o for o in yaml.safe_load_all(open(sys.argv[1])) if o and o["kind"] == "StatefulSet")
print(statefulset["metadata"]["namespace"])
' "$work/single-node.yaml")"
"$py" scripts/deploy_rule_tests.py --single tether-0 "$work/idle.prom" --busy tether-0 "$work/busy.prom" \
    "${cluster_args[@]}" --namespace "$namespace" "${rendered_args[@]}" --out "$work/scraped.test.yaml" \
    || fail "could not make the rules' tests from the scrapes (above)"
if [ -n "${TETHER_CHECK_DEPLOY_KEEP:-}" ]; then
    mkdir -p "$TETHER_CHECK_DEPLOY_KEEP" && cp "$work"/*.yaml "$work"/*.prom "$TETHER_CHECK_DEPLOY_KEEP"/
fi
promtool test rules "$work/scraped.test.yaml" \
    || fail "the rules and the dashboard's queries evaluated against the scrapes failed (above)"
echo "check-deploy: every check passed in $((SECONDS - started)) s"

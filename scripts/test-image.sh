#!/usr/bin/env bash
# The container images as a runtime would run them, without a container engine: builds the
# coordinator and example worker images (scripts/build-image.sh), checks their configuration
# (user, entrypoint, cmd, ports, volumes, stop signal, labels), unpacks both with umoci, and runs
# each image's own command line, environment and user (from the runtime configuration umoci
# derives from the image) under chroot, in a network namespace of its own, with /proc and a few
# devices mounted as a runtime would:
#
#   1. `tether keys generate` and `tether certs generate` from the image make the signing key and
#      the TLS files at the paths the image's /etc/tether/tether.json names, plus an API key, all
#      given to uid 10001 (as mounted secrets would be);
#   2. the coordinator image (`tether serve --config /etc/tether/tether.json`, uid 10001) answers
#      /readyz on port 7420, and /v1/* refuses a request without the API key;
#   3. the worker image (uid 10001, TETHER_COORDINATOR, TETHER_SIGNING_KEY, TETHER_CA_FILE)
#      connects over TLS to port 7421;
#   4. an order/created event sent with curl starts a run that completes, with the receipt as its
#      output and its three steps run by that worker;
#   5. SIGTERM stops the worker and then the coordinator, each with status 0, and the coordinator's
#      RocksDB is in the data volume, owned by 10001.
# Then prints the images' sizes. Any failure fails the script, with the logs.
#
#   scripts/test-image.sh [--no-build]     --no-build: test tether:VERSION and
#                                          tether-example-worker:VERSION as they are
#
# Runs as root (chroot, mounts, network namespaces); installs buildah and umoci with apt-get when
# missing. The release build of the two binaries (scripts/build-static.sh, in .build-image) takes
# most of the time.
set -euo pipefail
cd "$(dirname "$0")/.."
build=true
case "${1:-}" in
    "") ;;
    --no-build) build=false ;;
    *) echo "usage: $0 [--no-build]" >&2; exit 64 ;;
esac
[ "$(id -u)" = 0 ] || { echo "test-image: run as root (chroot, mount, ip netns)" >&2; exit 1; }
for tool in buildah umoci; do
    if ! command -v "$tool" >/dev/null; then
        echo "installing $tool" >&2
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$tool" >/dev/null
    fi
done
for tool in chroot curl ip python3; do
    command -v "$tool" >/dev/null || { echo "test-image: $tool not found" >&2; exit 1; }
done
chroot_command="$(command -v chroot)"

version="$(sed -n 's/.*static let current = "\(.*\)".*/\1/p' Sources/TetherEngine/TetherVersion.swift)"
coordinator_image="tether:$version"
worker_image="tether-example-worker:$version"
started=$SECONDS
if $build; then
    ./scripts/build-image.sh
    ./scripts/build-image.sh --worker
    echo "test-image: both images built in $((SECONDS - started)) s" >&2
fi

work="$(mktemp -d -t tether-image-test.XXXXXX)"
namespace="tether-image-test-$$"
pids=()
mounts=()
cleanup() {
    local status=$? pid index
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
    for ((index = ${#mounts[@]} - 1; index >= 0; index--)); do
        umount "${mounts[index]}" 2>/dev/null || umount -l "${mounts[index]}" 2>/dev/null || true
    done
    # Anything still running in the test's own network namespace was started by it.
    for pid in $(ip netns pids "$namespace" 2>/dev/null); do kill -9 "$pid" 2>/dev/null || true; done
    ip netns delete "$namespace" 2>/dev/null || true
    if [ "$status" -ne 0 ]; then
        for log in "$work"/*.log; do
            [ -f "$log" ] && { echo "--- $(basename "$log") (last 40 lines)" >&2; tail -40 "$log" >&2; }
        done
    fi
    rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "test-image: FAILED: $*" >&2; exit 1; }

# The images' settings, and the Containerfile's (scripts/image_check.py).
buildah inspect --type image "$coordinator_image" | python3 scripts/image_check.py config coordinator "$version"
buildah inspect --type image "$worker_image" | python3 scripts/image_check.py config example-worker "$version"

# Both images into one OCI layout, each unpacked into a bundle: rootfs/ and config.json (the
# runtime configuration: the command line, environment and user the image asks for).
buildah push --quiet "$coordinator_image" "oci:$work/oci:coordinator"
buildah push --quiet "$worker_image" "oci:$work/oci:worker"
umoci unpack --image "$work/oci:coordinator" "$work/coordinator" >/dev/null
umoci unpack --image "$work/oci:worker" "$work/worker" >/dev/null
croot="$work/coordinator/rootfs"
wroot="$work/worker/rootfs"
[ ! -e "$croot/bin/sh" ] && [ ! -e "$wroot/bin/sh" ] || fail "an image holds a shell"
[ "$(stat -c %u:%g "$croot/var/lib/tether")" = 10001:10001 ] || fail "/var/lib/tether is not owned by 10001"
[ "$(stat -c %u:%g "$croot/var/lib/tether-backups")" = 10001:10001 ] || fail "/var/lib/tether-backups is not owned by 10001"
sizes=""
for image in "$coordinator_image" "$worker_image"; do
    case "$image" in tether:*) root="$croot" ;; *) root="$wroot" ;; esac
    sizes+="$(printf '  %-34s %9s in the containers storage, %s unpacked' "$image" \
        "$(buildah images --format '{{.Size}}' "$image" | awk 'NR == 1')" "$(du -sh "$root" | cut -f1)")"$'\n'
done

# What a runtime mounts: /proc and the usual devices. (Without /proc, `tether` does not even
# see its arguments.)
for root in "$croot" "$wroot"; do
    mkdir -p "$root/proc" "$root/dev"
    mount -t proc proc "$root/proc"
    mounts+=("$root/proc")
    for device in null zero random urandom; do
        touch "$root/dev/$device"
        mount --bind "/dev/$device" "$root/dev/$device"
        mounts+=("$root/dev/$device")
    done
done

# Sets `command_line` to run BUNDLE's command as its image says (user, environment, arguments),
# in the network namespace; each program in it executes the next, so the process started is the
# image's own. Extra NAME=VALUE words before -- are added to the environment; arguments after --
# replace the image's command line. The working directory is / (chroot's).
image_command() {
    local bundle="$1" process
    shift
    local -a extra=() override=()
    while [ "$#" -gt 0 ] && [ "$1" != -- ]; do extra+=("$1"); shift; done
    [ "$#" -gt 0 ] && { shift; override=("$@"); }
    mapfile -d '' -t process < <(python3 scripts/image_check.py process "$bundle/config.json")
    local user="${process[0]}" count="${process[1]}"
    local -a environment=("${process[@]:2:count}") arguments=("${process[@]:2+count}")
    [ "${#override[@]}" -gt 0 ] && arguments=("${override[@]}")
    command_line=(ip netns exec "$namespace" env -i "${environment[@]}" "${extra[@]}"
        "$chroot_command" --userspec="$user" "$bundle/rootfs" "${arguments[@]}")
}
ip netns add "$namespace"
ip -n "$namespace" link set lo up
api() { ip netns exec "$namespace" curl -sS --max-time 5 "$@"; }

image_command "$work/coordinator" -- /usr/local/bin/tether --version
[ "$("${command_line[@]}")" = "$version" ] \
    || fail "tether --version in the image is not $version"

# The secrets at the paths of the image's /etc/tether/tether.json, made by the image's binary.
grep -q '"/etc/tether/signing-key"' "$croot/etc/tether/tether.json" || fail "unexpected /etc/tether/tether.json"
chroot "$croot" /usr/local/bin/tether keys generate --out /etc/tether/signing-key >/dev/null
chroot "$croot" /usr/local/bin/tether certs generate --out /etc/tether/tls >/dev/null
api_key="image-test-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
echo "$api_key" > "$croot/etc/tether/api-key"
chown -R 10001:10001 "$croot/etc/tether/tls" "$croot/etc/tether/signing-key" "$croot/etc/tether/api-key"
chmod 0600 "$croot/etc/tether/api-key"
install -D -m 0644 "$croot/etc/tether/tls/ca.pem" "$wroot/etc/tether/ca.pem"
signing_key="$(tr -d '[:space:]' < "$croot/etc/tether/signing-key")"

echo "test-image: starting the coordinator image" >&2
image_command "$work/coordinator"
"${command_line[@]}" > "$work/coordinator.log" 2>&1 &
coordinator=$!
pids+=("$coordinator")
for _ in $(seq 150); do
    [ "$(api -o /dev/null -w '%{http_code}' http://127.0.0.1:7420/readyz 2>/dev/null)" = 200 ] && break
    kill -0 "$coordinator" 2>/dev/null || fail "the coordinator exited"
    sleep 0.2
done
[ "$(api -o /dev/null -w '%{http_code}' http://127.0.0.1:7420/readyz)" = 200 ] || fail "/readyz did not answer 200 within 30 s"
uid_of() { awk '/^Uid:/ { print $2 }' "/proc/$1/status"; }
[ "$(uid_of "$coordinator")" = 10001 ] || fail "the coordinator runs as uid $(uid_of "$coordinator"), not 10001"
[ "$(api -o /dev/null -w '%{http_code}' http://127.0.0.1:7420/v1/runs)" = 401 ] \
    || fail "GET /v1/runs without an API key was not refused with 401"

echo "test-image: starting the example worker image" >&2
image_command "$work/worker" TETHER_COORDINATOR=127.0.0.1:7421 TETHER_SIGNING_KEY="$signing_key" \
    TETHER_CA_FILE=/etc/tether/ca.pem TETHER_INSTANCE_ID=image-test-worker
"${command_line[@]}" > "$work/worker.log" 2>&1 &
worker=$!
pids+=("$worker")
auth=(-H "Authorization: Bearer $api_key")
connected=false
for _ in $(seq 150); do
    if api "${auth[@]}" http://127.0.0.1:7420/v1/workers 2>/dev/null \
        | python3 scripts/image_check.py connected image-test-worker 2>/dev/null; then
        connected=true
        break
    fi
    kill -0 "$worker" 2>/dev/null || fail "the worker exited"
    sleep 0.2
done
$connected || fail "the worker did not connect within 30 s"
[ "$(uid_of "$worker")" = 10001 ] || fail "the worker runs as uid $(uid_of "$worker"), not 10001"

answer="$(api -f "${auth[@]}" -H 'Content-Type: application/json' -X POST http://127.0.0.1:7420/v1/events \
    -d '{"name":"order/created","data":{"orderId":"image-1","amount":4200}}')" || fail "POST /v1/events failed"
run="$(python3 scripts/image_check.py first-run <<< "$answer")" \
    || fail "no run in the answer to POST /v1/events: $answer"
status=""
for _ in $(seq 150); do
    api -f "${auth[@]}" "http://127.0.0.1:7420/v1/runs/$run" > "$work/run.json" || fail "GET /v1/runs/$run failed"
    status="$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["status"])' "$work/run.json")"
    case "$status" in completed | failed | cancelled) break ;; esac
    sleep 0.2
done
python3 scripts/image_check.py run "$work/run.json" image-1 image-test-worker || fail "run $run did not complete as expected"

# Graceful stops: the worker drains and leaves, then the coordinator drains and closes its store.
stop() {
    local pid="$1" what="$2" status=0
    kill -TERM "$pid"
    for _ in $(seq 200); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    kill -0 "$pid" 2>/dev/null && fail "the $what did not exit within 40 s of SIGTERM"
    wait "$pid" || status=$?
    [ "$status" -eq 0 ] || fail "the $what exited with status $status after SIGTERM"
}
stop "$worker" worker
stop "$coordinator" coordinator
pids=()
[ -f "$croot/var/lib/tether/CURRENT" ] || fail "no RocksDB database in /var/lib/tether"
[ -z "$(find "$croot/var/lib/tether" ! -uid 10001 -print -quit)" ] || fail "files in /var/lib/tether not owned by 10001"

echo "image sizes:"
printf '%s' "$sizes"
echo "test-image: passed in $((SECONDS - started)) s"

#!/usr/bin/env bash
# Builds an OCI image of the coordinator (or, with --worker, of the example worker) with buildah,
# from scratch and offline: no base image is pulled. The image holds the binary built by
# scripts/build-static.sh (the Swift runtime and Foundation linked in), the shared libraries it
# loads (RocksDB, the C and C++ runtimes and the dynamic loader, copied from this machine as ldd
# resolves them), the CA certificates, and a user and group `tether` (10001); no shell, no
# package manager.
#
#   scripts/build-image.sh [--worker] [--oci-archive PATH]
#
# Coordinator, tether:VERSION and tether:latest in the local containers storage (buildah images):
#   entrypoint  /usr/local/bin/tether serve      cmd  --config /etc/tether/tether.json
#   /etc/tether/tether.json is deploy/tether.json: mount your own, or mount the files it names
#   (tls/server.pem, tls/server-key.pem, signing-key, api-key under /etc/tether);
#   user 10001:10001; volumes /var/lib/tether (the data) and /var/lib/tether-backups, owned by it;
#   ports 7420 (HTTP) and 7421 (workers, TLS); stop signal SIGTERM (the coordinator drains).
# Example worker (--worker), tether-example-worker:VERSION and :latest: entrypoint
#   /usr/local/bin/tether-example, user 10001:10001, configured by TETHER_COORDINATOR,
#   TETHER_SIGNING_KEY, TETHER_CA_FILE (a CA file mounted in the container) and the other
#   TETHER_* variables of docs/operations.md, "Workers".
# Both carry the OCI labels title, description, version, revision, created and source (the
# address of the `origin` remote, or TETHER_IMAGE_SOURCE; empty when there is neither).
#
# VERSION is TetherVersion.current (Sources/TetherEngine/TetherVersion.swift), which `tether
# --version` prints. --oci-archive PATH also writes the image to PATH as an OCI archive
# (`podman load -i PATH`, `skopeo copy oci-archive:PATH …`).
#
# The Containerfile builds the same coordinator image from the official Swift and Debian images;
# what the two must keep alike: the binary (scripts/build-static.sh), the user and group 10001,
# the paths, the volumes, the ports, the entrypoint and cmd, the stop signal and the labels.
#
# Runs as root (it installs buildah with apt-get when missing, and gives the data directory to
# uid 10001). buildah's defaults are used (overlay storage under /var/lib/containers); where
# overlay cannot be mounted, point CONTAINERS_STORAGE_CONF at a storage.conf with driver = "vfs".
# Nothing runs inside the image while it is built, so no isolation setting is needed.
set -euo pipefail
cd "$(dirname "$0")/.."

worker=false
archive=""
while [ "$#" -gt 0 ]; do
    case "$1" in
        --worker) worker=true ;;
        --oci-archive) [ "$#" -ge 2 ] || { echo "--oci-archive needs a path" >&2; exit 64; }; archive="$2"; shift ;;
        -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) echo "build-image: unknown argument $1 (see --help)" >&2; exit 64 ;;
    esac
    shift
done
[ "$(id -u)" = 0 ] || { echo "build-image: run as root (buildah mounts the image's root file system)" >&2; exit 1; }
if ! command -v buildah >/dev/null; then
    echo "installing buildah" >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq buildah >/dev/null
fi
[ -f /etc/ssl/certs/ca-certificates.crt ] || {
    echo "build-image: /etc/ssl/certs/ca-certificates.crt missing (apt-get install ca-certificates)" >&2; exit 1; }
./scripts/setup.sh

version="$(sed -n 's/.*static let current = "\(.*\)".*/\1/p' Sources/TetherEngine/TetherVersion.swift)"
[ -n "$version" ] || { echo "build-image: no version in Sources/TetherEngine/TetherVersion.swift" >&2; exit 1; }
if $worker; then
    name="tether-example-worker"
    product="tether-example"
    title="Tether example worker"
    description="The order worker of Examples/OrderWorker, connecting to a Tether coordinator."
else
    name="tether"
    product="tether"
    title="Tether coordinator"
    description="The Tether coordinator: tether serve, with RocksDB."
fi
revision="$(git rev-parse HEAD 2>/dev/null || echo unknown)"
if [ "$revision" != unknown ] && ! git diff --quiet HEAD -- 2>/dev/null; then revision="$revision-dirty"; fi
# The remote's address without any user or token in it.
source="${TETHER_IMAGE_SOURCE:-$(git remote get-url origin 2>/dev/null | sed -E 's#^([a-z+]+://)[^@/]*@#\1#' || true)}"

work="$(mktemp -d -t tether-image.XXXXXX)"
container=""
mounted=false
cleanup() {
    if $mounted; then buildah umount "$container" >/dev/null 2>&1 || true; fi
    if [ -n "$container" ]; then buildah rm "$container" >/dev/null 2>&1 || true; fi
    rm -rf "$work"
}
trap cleanup EXIT

./scripts/build-static.sh "$product" "$work/$product" >/dev/null
if ! $worker; then
    built="$("$work/tether" --version 2>/dev/null || true)"
    [ "$built" = "$version" ] || {
        echo "build-image: tether --version says '$built', TetherVersion.swift says '$version'" >&2; exit 1; }
fi

# The root file system, put together in $rootfs and copied into the image with its owners.
rootfs="$work/rootfs"
mkdir -p "$rootfs/usr/local/bin" "$rootfs/etc/ssl/certs" "$rootfs/tmp"
chmod 1777 "$rootfs/tmp"
install -m 0755 "$work/$product" "$rootfs/usr/local/bin/$product"

# A shared library as the loader names it (/lib/x86_64-linux-gnu/librocksdb.so.7.8): the real file
# at its real path, and the name as a relative link to it when they differ. Directories that are
# links here (/lib -> usr/lib, /lib64 -> usr/lib64) become the same links in the image.
copy_library() {
    local path="$1" prefix="" part real directory
    local -a parts
    IFS=/ read -ra parts <<< "${path#/}"
    for part in "${parts[@]:0:${#parts[@]}-1}"; do
        prefix="$prefix/$part"
        if [ -L "$prefix" ] && [ ! -L "$rootfs$prefix" ] && [ ! -e "$rootfs$prefix" ]; then
            ln -s "$(readlink "$prefix")" "$rootfs$prefix"
        fi
    done
    real="$(readlink -f "$path")"
    mkdir -p "$rootfs$(dirname "$real")"
    cp -p "$real" "$rootfs$real"
    directory="$(readlink -f "$(dirname "$path")")"
    if [ "$directory/$(basename "$path")" != "$real" ]; then
        mkdir -p "$rootfs$directory"
        ln -sfr "$rootfs$real" "$rootfs$directory/$(basename "$path")"
    fi
}
libraries="$(ldd "$work/$product" | awk '
    $2 == "=>" && $3 == "not" { print "missing " $1; next }
    $2 == "=>" && $3 ~ /^\// { print $3; next }
    $1 ~ /^\// { print $1 }')"
if grep -q '^missing ' <<< "$libraries"; then
    echo "build-image: $product needs libraries this machine does not have:" >&2
    grep '^missing ' <<< "$libraries" | sed 's/^missing /  /' >&2
    exit 1
fi
for library in $libraries; do copy_library "$library"; done

cp /etc/ssl/certs/ca-certificates.crt "$rootfs/etc/ssl/certs/ca-certificates.crt"
cat > "$rootfs/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/usr/sbin/nologin
tether:x:10001:10001:Tether:/var/lib/tether:/usr/sbin/nologin
EOF
cat > "$rootfs/etc/group" <<'EOF'
root:x:0:
tether:x:10001:
EOF
# Host names from /etc/hosts (which container runtimes provide) before DNS.
cat > "$rootfs/etc/nsswitch.conf" <<'EOF'
passwd: files
group: files
hosts: files dns
EOF
if ! $worker; then
    install -D -m 0644 deploy/tether.json "$rootfs/etc/tether/tether.json"
    install -d -m 0750 -o 10001 -g 10001 "$rootfs/var/lib/tether" "$rootfs/var/lib/tether-backups"
fi

container="$(buildah from --name "$name-build-$$" scratch)"
mountpoint="$(buildah mount "$container")"
mounted=true
cp -a "$rootfs/." "$mountpoint/"
buildah umount "$container" >/dev/null
mounted=false

config=(
    --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
    --user 10001:10001
    --stop-signal SIGTERM
    --created-by scripts/build-image.sh
    --label "org.opencontainers.image.title=$title"
    --label "org.opencontainers.image.description=$description"
    --label "org.opencontainers.image.version=$version"
    --label "org.opencontainers.image.revision=$revision"
    --label "org.opencontainers.image.created=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
    --label "org.opencontainers.image.source=$source"
)
if $worker; then
    config+=(--workingdir / --entrypoint '["/usr/local/bin/tether-example"]')
else
    config+=(
        --workingdir /var/lib/tether
        --volume /var/lib/tether --volume /var/lib/tether-backups
        --port 7420/tcp --port 7421/tcp
        --entrypoint '["/usr/local/bin/tether","serve"]'
        --cmd '["--config","/etc/tether/tether.json"]'
    )
fi
buildah config "${config[@]}" "$container"

previous="$(buildah images --quiet "$name:$version" 2>/dev/null || true)"
image="$(buildah commit --quiet --rm "$container" "$name:$version")"
container=""
buildah tag "$name:$version" "$name:latest"
# The image this one replaces, unless something else still names it.
if [ -n "$previous" ] && [ "${image:0:12}" != "${previous:0:12}" ] \
    && buildah images --quiet --filter dangling=true | grep -x "${previous:0:12}" >/dev/null; then
    buildah rmi "$previous" >/dev/null 2>&1 || true
fi
if [ -n "$archive" ]; then
    rm -f "$archive"
    buildah push --quiet "$name:$version" "oci-archive:$archive:$name:$version"
fi

echo "built $name:$version and $name:latest (image ${image:0:12}, revision $revision)"
echo "  size: $(buildah images --format '{{.Size}}' "$name:$version" | awk 'NR == 1') in the containers storage, $(du -sh "$rootfs" | cut -f1) unpacked"
echo "  binary: $(du -h "$rootfs/usr/local/bin/$product" | cut -f1), libraries: $(wc -w <<< "$libraries")"
[ -n "$archive" ] && echo "  OCI archive: $archive ($(du -h "$archive" | cut -f1))"
exit 0

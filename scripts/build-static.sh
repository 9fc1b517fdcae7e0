#!/usr/bin/env bash
# Builds one executable of the package for a container image: release mode, the Swift runtime and
# Foundation linked statically (--static-swift-stdlib), symbols stripped, copied to OUT (the
# unstripped binary stays in the build directory, to symbolize a crash report with).
# scripts/build-image.sh and the Containerfile both build their binaries with it.
#
#   scripts/build-static.sh PRODUCT OUT        e.g. scripts/build-static.sh tether /tmp/tether
#
# The build directory is .build-image (TETHER_IMAGE_SCRATCH overrides it), apart from .build so
# that a debug build and this one do not rebuild each other.
#
# A static Foundation needs one thing more than --static-swift-stdlib. The linker takes an object
# out of a static library only when something refers to a symbol it defines, and nothing refers
# by name to the objects holding Foundation's dynamic replacements (their swift5_replace section):
# in FoundationInternationalization, TimeZone, Calendar and Locale backed by ICU; in Foundation,
# CoreFoundation's string encodings. A program that does not happen to use another symbol of
# those objects is linked without them, and then TimeZone(identifier: "Europe/Paris") is nil: a
# cron trigger with a time zone would be refused by the worker and the coordinator. (Today both
# binaries do use such symbols; a three-line program printing TimeZone(identifier:) does not.)
# So for each of these two libraries the script finds the object with a swift5_replace section
# and has the linker take it (--undefined=<a symbol that object defines>), then checks that the
# binary holds the ICU time zones.
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$#" -eq 2 ] || { echo "usage: $0 PRODUCT OUT" >&2; exit 64; }
product="$1"
out="$2"
scratch="${TETHER_IMAGE_SCRATCH:-.build-image}"
for tool in readelf nm strip; do
    command -v "$tool" >/dev/null || { echo "build-static: $tool not found (apt-get install binutils)" >&2; exit 1; }
done

# The toolchain's static libraries: lib/swift_static/linux beside its runtime resources (lib/swift).
resources="$(swiftc -print-target-info | sed -n 's/^ *"runtimeResourcePath": "\(.*\)",*$/\1/p')"
static="$(dirname "$resources")/swift_static/linux"
[ -d "$static" ] || { echo "build-static: no static Swift libraries in $static" >&2; exit 1; }

linker=()
for library in Foundation FoundationInternationalization; do
    archive="$static/lib$library.a"
    # readelf names each member as "File: ARCHIVE(MEMBER)" before its sections.
    member="$(readelf -S -W "$archive" | awk '
        /^File: / { name = $2; sub(/^.*\(/, "", name); sub(/\)$/, "", name) }
        / swift5_replace / && !found { print name; found = 1 }')"
    [ -n "$member" ] || { echo "build-static: no dynamic replacements found in $archive" >&2; exit 1; }
    # nm prints "MEMBER:" before each member's symbols; the first global one it defines will do.
    symbol="$(nm --defined-only -g "$archive" 2>/dev/null | awk -v member="$member:" '
        $0 == member { inside = 1; next }
        /:$/ { inside = 0 }
        inside && $2 ~ /^[TDR]$/ && !found { print $3; found = 1 }')"
    [ -n "$symbol" ] || { echo "build-static: no symbol to pull $member out of $archive" >&2; exit 1; }
    linker+=(-Xlinker "--undefined=$symbol")
done

swift build -c release --product "$product" --static-swift-stdlib --scratch-path "$scratch" "${linker[@]}" >&2
binary="$(swift build -c release --static-swift-stdlib --scratch-path "$scratch" --show-bin-path)/$product"
if ! nm "$binary" | grep '_timeZoneICUClass_localized' >/dev/null; then
    echo "build-static: $binary was linked without FoundationInternationalization's time zones" >&2
    exit 1
fi
mkdir -p "$(dirname "$out")"
strip -o "$out" "$binary"
echo "$out"

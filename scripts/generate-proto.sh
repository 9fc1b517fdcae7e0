#!/usr/bin/env bash
# Regenerates Sources/TetherProtocol/Generated from proto/.
# Needs protoc (Debian: protobuf-compiler); builds protoc-gen-swift from the
# swift-protobuf dependency the first time (a few minutes).
set -euo pipefail
cd "$(dirname "$0")/.."
command -v protoc >/dev/null || { echo "protoc not found: apt-get install -y protobuf-compiler" >&2; exit 1; }
swift build --product protoc-gen-swift >&2
plugin="$(swift build --show-bin-path)/protoc-gen-swift"
out=Sources/TetherProtocol/Generated
find "$out" -name '*.pb.swift' -delete
protoc --plugin=protoc-gen-swift="$plugin" \
  --swift_opt=Visibility=Public --swift_opt=FileNaming=PathToUnderscores \
  --swift_out="$out" -I proto proto/tether/v1/*.proto
echo "generated: $(ls "$out"/*.pb.swift | tr '\n' ' ')"

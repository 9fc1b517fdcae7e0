#!/usr/bin/env bash
# Installs what Tether needs on Debian/Ubuntu that a Swift toolchain does not bring:
# RocksDB's C library and headers (librocksdb-dev). Safe to run again.
set -euo pipefail
if ! pkg-config --exists rocksdb 2>/dev/null && [ ! -f /usr/include/rocksdb/c.h ]; then
  sudo=""
  if [ "$(id -u)" != 0 ]; then sudo="sudo"; fi
  echo "installing librocksdb-dev" >&2
  $sudo apt-get update -qq
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq librocksdb-dev pkg-config >/dev/null
fi

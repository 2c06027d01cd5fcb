#!/usr/bin/env bash
# Installs everything the project needs on a fresh Debian machine: PostgreSQL (server and
# pg_dump), age, Chromium, FAT tools (dosfstools, fusefat), the Temporal CLI, MinIO for the S3
# tests, and the npm packages. Idempotent; skips what is present.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

apt_packages=()
command -v pg_dump >/dev/null 2>&1 || apt_packages+=(postgresql-client)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || apt_packages+=(postgresql)
# The Web UI test drives Debian's Chromium through playwright-core (no browser download).
[ -x /usr/bin/chromium ] || apt_packages+=(chromium)
# The encryption tests decrypt with the standard age tool.
command -v age >/dev/null 2>&1 || apt_packages+=(age)
# A real file system without hard links for the publishing tests: a FAT image, mounted through FUSE.
command -v mkfs.vfat >/dev/null 2>&1 || apt_packages+=(dosfstools)
command -v fusefat >/dev/null 2>&1 || apt_packages+=(fusefat)
if [ "${#apt_packages[@]}" -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${apt_packages[@]}" >/dev/null
fi
# Debian starts a system cluster on install; the project runs its own on free ports instead.

bash scripts/ensure-temporal.sh >/dev/null
# A real S3-compatible server (MinIO, built from Go modules) for the off-host copy tests.
bash scripts/ensure-s3-server.sh >/dev/null

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi

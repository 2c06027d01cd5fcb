#!/usr/bin/env bash
# Prints the path of a MinIO server binary, the real S3-compatible server the copy tests run
# on loopback, building it from Go modules when none is installed (like ensure-temporal.sh).
# Order: $MINIO_PATH, .tools/bin/minio, `minio` on PATH, then `go install`.
# MinIO's release tags (RELEASE.*) are not semantic versions, so the build pins a pseudo-version
# of a commit whose go.mod has no replace directive (go install refuses those).
# MinIO is AGPL-3.0: it is only run as a separate test process, never linked or shipped.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
version="${MINIO_VERSION:-v0.0.0-20260212201848-7aac2a2c5b7c}"
local_bin="$root/.tools/bin/minio"

if [ -n "${MINIO_PATH:-}" ] && [ -x "$MINIO_PATH" ]; then echo "$MINIO_PATH"; exit 0; fi
if [ -x "$local_bin" ]; then echo "$local_bin"; exit 0; fi
if command -v minio >/dev/null 2>&1; then command -v minio; exit 0; fi

command -v go >/dev/null 2>&1 || { echo "ensure-s3-server: no minio and no Go toolchain to build one" >&2; exit 1; }
echo "ensure-s3-server: building minio $version from Go modules (several minutes the first time)..." >&2
GOBIN="$root/.tools/bin" GOFLAGS=-trimpath go install "github.com/minio/minio@$version" >&2
echo "$local_bin"

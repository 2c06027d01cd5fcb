#!/usr/bin/env bash
# Prints the path of a MinIO server binary, the real S3-compatible server the copy tests run
# on loopback, building it from Go modules when none is installed (like ensure-temporal.sh).
# Order: $MINIO_PATH, .tools/bin/minio, `minio` on PATH, then `go install`.
# MinIO's release tags (RELEASE.*) are not semantic versions, so the build pins a pseudo-version
# of a commit whose go.mod has no replace directive (go install refuses those).
# MinIO is AGPL-3.0: it is only run as a separate test process, never linked or shipped.
set -euo pipefail
source "$(dirname "$0")/go-tool.sh"
GOFLAGS=-trimpath ensure_go_tool minio "${MINIO_PATH:-}" "github.com/minio/minio@${MINIO_VERSION:-v0.0.0-20260212201848-7aac2a2c5b7c}"

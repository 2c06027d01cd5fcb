#!/usr/bin/env bash
# Prints the path of a `temporal` CLI, building it from Go modules when none is installed.
# Order: $TEMPORAL_CLI_PATH, .tools/bin/temporal, `temporal` on PATH, then `go install`.
# v1.5.1 is the newest tag `go install` accepts (later ones carry a replace directive).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
version="${TEMPORAL_CLI_VERSION:-v1.5.1}"
local_bin="$root/.tools/bin/temporal"

if [ -n "${TEMPORAL_CLI_PATH:-}" ] && [ -x "$TEMPORAL_CLI_PATH" ]; then echo "$TEMPORAL_CLI_PATH"; exit 0; fi
if [ -x "$local_bin" ]; then echo "$local_bin"; exit 0; fi
if command -v temporal >/dev/null 2>&1; then command -v temporal; exit 0; fi

command -v go >/dev/null 2>&1 || { echo "ensure-temporal: no temporal CLI and no Go toolchain to build one" >&2; exit 1; }
echo "ensure-temporal: building temporal CLI $version from Go modules (a few minutes the first time)..." >&2
GOBIN="$root/.tools/bin" go install "github.com/temporalio/cli/cmd/temporal@$version" >&2
echo "$local_bin"

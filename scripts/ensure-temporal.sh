#!/usr/bin/env bash
# Prints the path of a `temporal` CLI, building it from Go modules when none is installed.
# Order: $TEMPORAL_CLI_PATH, .tools/bin/temporal, `temporal` on PATH, then `go install`.
# v1.5.1 is the newest tag `go install` accepts (later ones carry a replace directive).
set -euo pipefail
source "$(dirname "$0")/go-tool.sh"
ensure_go_tool temporal "${TEMPORAL_CLI_PATH:-}" "github.com/temporalio/cli/cmd/temporal@${TEMPORAL_CLI_VERSION:-v1.5.1}"

#!/usr/bin/env bash
# Prints the path of a `tctl` (the deprecated predecessor of the `temporal` CLI, kept for
# operators' old runbooks), building it from Go modules when none is installed.
# Order: $TCTL_PATH, .tools/bin/tctl, `tctl` on PATH, then `go install` of $TCTL_VERSION.
# tctl is deprecated upstream; where the module proxy does not serve it, this exits 1 and
# the tctl test is skipped (the `temporal` CLI covers the same manual runs).
set -euo pipefail
source "$(dirname "$0")/go-tool.sh"
version="${TCTL_VERSION:-v1.18.4}"
ensure_go_tool tctl "${TCTL_PATH:-}" "github.com/temporalio/tctl/cmd/tctl@$version" || {
  echo "ensure-tctl: could not install tctl $version with go install; use the temporal CLI instead" >&2
  exit 1
}

#!/usr/bin/env bash
# Prints the path of a `tctl` (the deprecated predecessor of the `temporal` CLI, kept for
# operators' old runbooks), building it from Go modules when none is installed.
# Order: $TCTL_PATH, .tools/bin/tctl, `tctl` on PATH, then `go install` of $TCTL_VERSION.
# tctl is deprecated upstream; where the module proxy does not serve it, this exits 1 and
# the tctl test is skipped (the `temporal` CLI covers the same manual runs).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
version="${TCTL_VERSION:-v1.18.4}"
local_bin="$root/.tools/bin/tctl"

if [ -n "${TCTL_PATH:-}" ] && [ -x "$TCTL_PATH" ]; then echo "$TCTL_PATH"; exit 0; fi
if [ -x "$local_bin" ]; then echo "$local_bin"; exit 0; fi
if command -v tctl >/dev/null 2>&1; then command -v tctl; exit 0; fi

command -v go >/dev/null 2>&1 || { echo "ensure-tctl: no tctl and no Go toolchain to build one" >&2; exit 1; }
mkdir -p "$root/.tools/bin"
echo "ensure-tctl: building tctl $version from Go modules (a few minutes the first time)..." >&2
if GOBIN="$root/.tools/bin" go install "github.com/temporalio/tctl/cmd/tctl@$version" >&2; then
  echo "$local_bin"; exit 0
fi
echo "ensure-tctl: could not install tctl $version with go install; use the temporal CLI instead" >&2
exit 1

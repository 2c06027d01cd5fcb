# Sourced by the ensure-*.sh scripts: one way to find a Go-built tool or build it.
#
# ensure_go_tool NAME OVERRIDE_PATH PACKAGE@VERSION
#   Prints the tool's path, trying in order: OVERRIDE_PATH (an env var's value, may be empty),
#   .tools/bin/NAME, NAME on PATH, then `GOBIN=.tools/bin go install PACKAGE@VERSION`.
#   Build progress and errors go to stderr; returns 1 when there is no tool and no way to build it.
ensure_go_tool() {
  local name="$1" override="$2" package="$3"
  local root bin
  root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
  bin="$root/.tools/bin/$name"
  if [ -n "$override" ] && [ -x "$override" ]; then echo "$override"; return 0; fi
  if [ -x "$bin" ]; then echo "$bin"; return 0; fi
  if command -v "$name" >/dev/null 2>&1; then command -v "$name"; return 0; fi
  command -v go >/dev/null 2>&1 || { echo "no $name and no Go toolchain to build one" >&2; return 1; }
  mkdir -p "$root/.tools/bin"
  echo "building $name from Go modules: $package (a few minutes the first time)..." >&2
  GOBIN="$root/.tools/bin" go install "$package" >&2 || return 1
  echo "$bin"
}

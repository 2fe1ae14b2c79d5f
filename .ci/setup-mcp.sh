#!/usr/bin/env bash
# Install @modelcontextprotocol/server-everything locally for the MCP tests (idempotent).
#
# `npx -y` re-resolves the package from npm on every cold start (~6 s); a local `npm install`
# starts in ~0.4 s. Prints the path of the server's entry point on stdout; the tests find it
# through $KWAAK_MCP_EVERYTHING (a path to dist/index.js) or this script's default directory.
#
# Usage: .ci/setup-mcp.sh [DIR]     (DIR defaults to $KWAAK_CI_CACHE/mcp or ~/.cache/kwaak-ci/mcp)
set -euo pipefail

PACKAGE="@modelcontextprotocol/server-everything"
DIR="${1:-${KWAAK_CI_CACHE:-$HOME/.cache/kwaak-ci}/mcp}"
ENTRY="$DIR/node_modules/$PACKAGE/dist/index.js"

if ! command -v npm >/dev/null 2>&1; then
  echo "setup-mcp: npm is not installed; install Node.js >= 18 first" >&2
  exit 1
fi

if [[ ! -f "$ENTRY" ]]; then
  mkdir -p "$DIR"
  # npm warns about unrelated user config on stderr; that is harmless.
  npm install --prefix "$DIR" --no-audit --no-fund --loglevel=error "$PACKAGE" >&2
fi

if [[ ! -f "$ENTRY" ]]; then
  echo "setup-mcp: $PACKAGE installed but $ENTRY is missing" >&2
  exit 1
fi
echo "$ENTRY"

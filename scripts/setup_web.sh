#!/usr/bin/env bash
# Installs the website widget's one npm dependency (socket.io-client, pinned in
# web/package.json and web/package-lock.json) into web/node_modules; the web
# app serves its browser build at /widget/socket.io.min.js. Quiet when the
# pinned version is already there; fails clearly when npm is missing.
set -euo pipefail
cd "$(dirname "$0")/../web"

pinned="$(sed -n 's/.*"socket\.io-client": *"\([^"]*\)".*/\1/p' package.json | head -n1)"
installed=""
if [ -f node_modules/socket.io-client/package.json ]; then
  installed="$(sed -n 's/^  "version": *"\([^"]*\)".*/\1/p' node_modules/socket.io-client/package.json | head -n1)"
fi
if [ -n "$pinned" ] && [ "$installed" = "$pinned" ] && [ -f node_modules/socket.io-client/dist/socket.io.min.js ]; then
  exit 0
fi

if ! command -v npm >/dev/null 2>&1; then
  cat >&2 <<'MSG'
setup: npm was not found. The website chat widget needs socket.io-client from
the npm registry (web/package.json). Install Node.js with npm (for example
`apt-get install npm`) and run `make setup` again.
MSG
  exit 1
fi
echo "setup: installing the chat widget's socket.io-client $pinned (npm ci)"
npm ci --ignore-scripts --no-audit --no-fund --loglevel=error

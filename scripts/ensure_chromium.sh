#!/usr/bin/env bash
# The browser tests drive Debian's Chromium (never a browser downloaded by a
# test tool). Installs it when missing and this user can; otherwise says so,
# and those tests skip (a failure under CI).
set -euo pipefail
CHROMIUM="${CHROMIUM_PATH:-/usr/bin/chromium}"
[ -x "$CHROMIUM" ] && exit 0
if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  echo "setup: installing Debian's chromium for the browser tests"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
elif command -v apt-get >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  echo "setup: installing Debian's chromium for the browser tests"
  sudo -n apt-get update -qq
  sudo -n env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
else
  echo "setup: $CHROMIUM is missing and cannot be installed here (apt-get install chromium);" \
       "the browser tests will be skipped" >&2
fi

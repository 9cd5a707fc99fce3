#!/usr/bin/env bash
# The browser tests drive Debian's chromium through Playwright's executable_path (never `playwright install`:
# no browser download site is reachable from our machines, the distribution's package is).
set -eu
CHROMIUM="${LLMOPS_CHROMIUM:-/usr/bin/chromium}"
if [ -x "$CHROMIUM" ]; then
  exit 0
fi
if [ "$(id -u)" != "0" ]; then
  echo "chromium is missing: install it with 'sudo apt-get install -y chromium' (the browser tests need $CHROMIUM)" >&2
  exit 1
fi
echo "installing chromium with apt-get (the browser tests need it)..." >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
apt-get install -y -qq --no-install-recommends chromium >/dev/null
test -x "$CHROMIUM" || { echo "apt-get installed chromium but $CHROMIUM is not there" >&2; exit 1; }

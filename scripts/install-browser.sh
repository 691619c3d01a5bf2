#!/usr/bin/env bash
# Install Debian's Chromium for the browser test (tests/browser), which drives JupyterLab through
# Playwright with executable_path=/usr/bin/chromium (Playwright itself comes from the dev extra;
# its own browser download is not used). Safe to re-run: does nothing when Chromium is there.
set -euo pipefail

CHROMIUM=/usr/bin/chromium
SKIP_NOTE="the browser test (tests/browser) will be skipped"

if [ -x "$CHROMIUM" ]; then
  exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
  echo "apt-get is not available: cannot install Chromium; $SKIP_NOTE"
  exit 0
fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then
    sudo="sudo"
  else
    echo "not root and no sudo: cannot install Chromium; $SKIP_NOTE"
    exit 0
  fi
fi

echo "installing Chromium (Debian package chromium) for the browser test"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
$sudo apt-get update -qq >"$log" 2>&1 || true
if ! DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
  chromium >>"$log" 2>&1; then
  tail -n 15 "$log" >&2
  echo "could not install Chromium with apt-get (see above); $SKIP_NOTE" >&2
  exit 1
fi

if [ ! -x "$CHROMIUM" ]; then
  echo "apt-get installed chromium but $CHROMIUM is missing; $SKIP_NOTE" >&2
  exit 1
fi
echo "ready: $("$CHROMIUM" --version 2>/dev/null || echo "$CHROMIUM")"

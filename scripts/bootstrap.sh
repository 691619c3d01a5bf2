#!/usr/bin/env bash
# Set up a development environment in .venv: finds a Python >= 3.12, installs synthlib with every
# extra (notebook, mongo) and its test tools (the dev extra), and (where apt is available) Debian's
# WordNet for the offline provider. The CLI job needs only the core: pip install -e .
# Safe to re-run; quick when everything is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

find_python() {
  local candidates=(python3.12 python3.13 python3.14 python3)
  if command -v pyenv >/dev/null 2>&1; then
    local root
    root=$(pyenv root)
    for v in "$root"/versions/3.1[2-9]*; do
      [ -x "$v/bin/python3" ] && candidates+=("$v/bin/python3")
    done
  fi
  for c in "${candidates[@]}"; do
    if "$c" -c 'import sys; sys.exit(sys.version_info < (3, 12))' >/dev/null 2>&1; then
      command -v "$c" 2>/dev/null || echo "$c"
      return 0
    fi
  done
  echo "synthlib needs Python 3.12 or newer; install it (e.g. apt-get install python3.12)" >&2
  return 1
}

install_wordnet() {
  [ -d /usr/share/wordnet ] && [ -f /usr/share/wordnet/data.noun ] && return 0
  [ -n "${WORDNET_DIR:-}" ] && return 0
  command -v apt-get >/dev/null 2>&1 || return 0
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "installing WordNet (Debian package wordnet-base) for the offline provider"
  $sudo apt-get update -qq >/dev/null 2>&1 || true
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq wordnet-base >/dev/null \
    || echo "could not install wordnet-base; the offline provider will say how to get WordNet" >&2
}

install_wordnet
if [ ! -x .venv/bin/python ] || ! .venv/bin/python -c 'import sys; sys.exit(sys.version_info < (3, 12))'; then
  python=$(find_python)
  rm -rf .venv
  "$python" -m venv .venv
  .venv/bin/python -m pip install --quiet --upgrade pip
fi
.venv/bin/python -m pip install --quiet -e ".[dev]"
echo "ready: .venv ($(.venv/bin/python --version))"

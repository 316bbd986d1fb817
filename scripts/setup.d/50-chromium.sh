#!/usr/bin/env bash
# Headless Chromium for the demo's end-to-end test (Debian's package). Installed in CI
# when missing; elsewhere the browser test says how to install it.
set -euo pipefail
if command -v chromium >/dev/null 2>&1; then
  exit 0
fi
if [ -n "${CI:-}" ]; then
  echo "setup: installing Debian's chromium for the browser test"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi

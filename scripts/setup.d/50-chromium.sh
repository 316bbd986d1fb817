#!/usr/bin/env bash
# Headless Chromium (Debian's package) for the demo's end-to-end test in
# tests/test_demo_browser.py. Installed when missing, with CI set or not.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib/apt.sh"

if command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1; then
    exit 0
fi
apt_install chromium

#!/usr/bin/env bash
# redis-server and redis-cli (Debian's redis-server package) for the Redis driver's tests:
# tests/redis/ start their own servers on free ports of 127.0.0.1, with no persistence.
# Installed when missing, with CI set or not.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib/apt.sh"

if command -v redis-server >/dev/null 2>&1 && command -v redis-cli >/dev/null 2>&1; then
    exit 0
fi
apt_install redis-server

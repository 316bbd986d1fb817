#!/usr/bin/env bash
# Azurite, Azure Storage's local emulator, for tests/azure (its table service only).
# Idempotent and quick when the pinned version is already there.
set -euo pipefail

AZURITE_VERSION="3.37.0"
PREFIX=".tools/azurite"
BIN="$PREFIX/node_modules/.bin/azurite-table"

if ! command -v npm >/dev/null 2>&1; then
    echo "30-azurite.sh: npm is missing; install Node.js 18+ (apt-get install -y nodejs npm)" >&2
    exit 1
fi

installed=""
if [ -x "$BIN" ] && [ -f "$PREFIX/node_modules/azurite/package.json" ]; then
    installed="$(node -p "require('./$PREFIX/node_modules/azurite/package.json').version" 2>/dev/null || true)"
fi

if [ "$installed" != "$AZURITE_VERSION" ]; then
    echo "30-azurite.sh: installing azurite@$AZURITE_VERSION into $PREFIX"
    npm install --prefix "$PREFIX" "azurite@$AZURITE_VERSION" --no-audit --no-fund --loglevel=error
fi
"$BIN" --version >/dev/null

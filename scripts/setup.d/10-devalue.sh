#!/usr/bin/env bash
# Installs the JavaScript library devalue into .tools/devalue for tests/test_codec_devalue_js.py,
# which checks hostsessions.codec against the real thing. Two releases, both pinned:
#   devalue        the current release on npm
#   devalue-astro  the release that the current Astro's dependency range (^5.8.1) resolves to
# Idempotent: does nothing when both are already installed.
set -euo pipefail

DEVALUE_VERSION=6.0.3
ASTRO_DEVALUE_VERSION=5.9.4
DIR=.tools/devalue

installed() {  # installed NAME VERSION
    grep -qs "\"version\": \"$2\"" "$DIR/node_modules/$1/package.json"
}

if installed devalue "$DEVALUE_VERSION" && installed devalue-astro "$ASTRO_DEVALUE_VERSION"; then
    exit 0
fi

if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    echo "10-devalue.sh: node and npm are needed (Node.js 18 or later); install them first" >&2
    exit 1
fi

mkdir -p "$DIR"
npm install --prefix "$DIR" --no-audit --no-fund --save-exact --loglevel=error \
    "devalue@$DEVALUE_VERSION" "devalue-astro@npm:devalue@$ASTRO_DEVALUE_VERSION"

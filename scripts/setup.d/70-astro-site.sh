#!/usr/bin/env bash
# The Astro site of tests/astro/ (astro 5.18.2, @astrojs/node 9.5.5, ioredis for unstorage's
# redis driver; versions pinned by tests/astro/site/package-lock.json), installed from npm
# into .tools/astro-site and built there, so the end-to-end tests run it as production does:
# node .tools/astro-site/dist/server/entry.mjs.
# Idempotent: does nothing when the built site matches the sources.
set -euo pipefail

SOURCE=tests/astro/site
DIR=.tools/astro-site

if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    echo "70-astro-site.sh: node and npm are needed (Node.js 20 or later); install them first" >&2
    exit 1
fi

stamp="$DIR/.sources-sha256"
wanted=$( (cd "$SOURCE" && find . -type f -not -path './node_modules/*' -not -path './dist/*' \
    -not -path './.astro/*' | LC_ALL=C sort | xargs sha256sum) | sha256sum | cut -d' ' -f1)
if [ -f "$DIR/dist/server/entry.mjs" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$wanted" ]; then
    exit 0
fi

echo "70-astro-site.sh: installing and building the Astro site into $DIR"
mkdir -p "$DIR"
rm -rf "$DIR/src" "$DIR/dist" "$stamp"
cp -R "$SOURCE/." "$DIR/"
(
    cd "$DIR"
    npm ci --no-audit --no-fund --loglevel=error
    ASTRO_TELEMETRY_DISABLED=1 npx --no-install astro build >build.log 2>&1 \
        || { cat build.log >&2; echo "70-astro-site.sh: astro build failed" >&2; exit 1; }
)
echo "$wanted" > "$stamp"

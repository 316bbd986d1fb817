#!/usr/bin/env bash
# curl, for tests/test_docs_examples.py, which runs the docs' curl commands as written.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib/apt.sh"

command -v curl >/dev/null 2>&1 || apt_install curl

#!/usr/bin/env bash
# The shared peer benchmark with the Redis-backed stores: hostsessions' redis driver
# (ASGI and WSGI), starsessions' RedisStore and Flask-Session's redis interface, all on one
# redis-server that this script starts on a free port of 127.0.0.1 (no persistence) and
# stops at the end. Run from the repository root, after the set-up in benchmarks/README.md
# (the peer venv needs this checkout and redis-py: "$PEERBENCH_DIR/venv/bin/pip" install -e . redis).
# Extra arguments go to the harness (e.g. --quick). On a shared machine, run it under the
# lock the other benchmarks take (flock LOCKFILE ...), so that no two overlap.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
# The harness sits in shared/ beside the checkout (or beside the folder of worktrees).
if [ -z "${PEERS:-}" ]; then
    for candidate in ../shared/bench/peers ../../shared/bench/peers; do
        [ -x "$candidate/run.sh" ] && PEERS="$(cd "$candidate" && pwd)" && break
    done
fi
: "${PEERS:?set PEERS to the folder of the shared peer benchmark (shared/bench/peers)}"
export PEERBENCH_DIR="${PEERBENCH_DIR:-${TMPDIR:-/tmp}/peerbench-$USER}"
mkdir -p "$PEERBENCH_DIR"

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no \
    --dir "$PEERBENCH_DIR" --logfile redis-bench.log --daemonize no &
redis_pid=$!
trap 'kill "$redis_pid" 2>/dev/null; wait "$redis_pid" 2>/dev/null || true' EXIT
for _ in $(seq 100); do
    redis-cli -p "$port" ping 2>/dev/null | grep -q PONG && break
    sleep 0.05
done
export PEERBENCH_REDIS_URL="redis://127.0.0.1:$port/0"
echo "redis-server $(redis-server --version | grep -o 'v=[0-9.]*') on $PEERBENCH_REDIS_URL; load average: $(cat /proc/loadavg)"

"$PEERS/run.sh" --extra-path "$PWD/benchmarks/peers" \
    --only starsessions_mem,flask_session \
    --extra hs_redis_asgi=asgi:redis_bench:make_hs_redis_asgi \
    --extra starsessions_redis=asgi:redis_bench:make_starsessions_redis \
    --extra hs_redis_wsgi=wsgi:redis_bench:make_hs_redis_wsgi \
    --extra flask_session_redis=wsgi:redis_bench:make_flask_session_redis \
    "$@"
echo "load average after: $(cat /proc/loadavg)"

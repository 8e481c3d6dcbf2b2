#!/usr/bin/env bash
# Three Easel replicas on this machine, sharing one PostgreSQL and one Redis you already run, each on its own port
# and data directory: what a Deployment of three pods does, without containers. Stop with Ctrl-C (each replica
# drains, then exits).
#
#   DATABASE_URL=postgresql://easel:secret@127.0.0.1:5432/easel \
#   REDIS_HOST=127.0.0.1 REDIS_PORT=6379 \
#   examples/fleet/run-three-replicas.sh
#
# No PostgreSQL or Redis yet? On Debian/Ubuntu:
#   sudo apt-get install postgresql redis-server
#   sudo -u postgres createuser -P easel && sudo -u postgres createdb -O easel easel
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"

: "${DATABASE_URL:?set DATABASE_URL (postgresql://user:password@host:5432/db) to a PostgreSQL every replica can reach}"
: "${REDIS_HOST:?set REDIS_HOST (and REDIS_PORT, REDIS_PASSWORD if needed) to a Redis every replica can reach}"
export DATABASE_URL REDIS_HOST
export REDIS_PORT="${REDIS_PORT:-6379}"
export REDIS_PASSWORD="${REDIS_PASSWORD:-}"
export EASEL_MASTER_KEY="${EASEL_MASTER_KEY:-sk-easel-fleet}"
config="${EASEL_CONFIG:-$here/config.yaml}"
base_port="${BASE_PORT:-4001}"
work="${FLEET_DIR:-$here/.fleet}"
mkdir -p "$work"

pids=()
stop() {
  trap - INT TERM EXIT
  if [ "${#pids[@]}" -gt 0 ]; then
    kill -TERM "${pids[@]}" 2>/dev/null || true
    wait "${pids[@]}" 2>/dev/null || true
  fi
}
trap stop INT TERM EXIT

for i in 0 1 2; do
  port=$((base_port + i))
  # one data directory per replica: a directory is owned (locked) by one process
  "$repo/easel" proxy --config "$config" --host 127.0.0.1 --port "$port" --data-dir "$work/replica-$i" \
    > >(sed -u "s/^/[replica $i] /") 2>&1 &
  pids+=("$!")
done

for i in 0 1 2; do
  port=$((base_port + i))
  for _ in $(seq 1 120); do
    if curl -sf "http://127.0.0.1:$port/health/readiness" > /dev/null 2>&1; then
      echo "replica $i ready on http://127.0.0.1:$port"
      break
    fi
    sleep 0.5
  done
done

cat <<MSG

Three replicas: http://127.0.0.1:$base_port, :$((base_port + 1)), :$((base_port + 2)) (master key $EASEL_MASTER_KEY).
Put a load balancer in front (nginx-upstream.conf next to this script), or send to each in turn:
  for p in $base_port $((base_port + 1)) $((base_port + 2)); do
    curl -s http://127.0.0.1:\$p/v1/images/edits -H "Authorization: Bearer $EASEL_MASTER_KEY" \\
      -F model=edit -F prompt="add a hat" -F image=@examples/images/original_image.png -F user=demo-user | head -c 120; echo
  done
Ctrl-C stops all three.
MSG
wait

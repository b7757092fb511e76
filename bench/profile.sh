#!/usr/bin/env bash
# CPU profile of the gateway (from source) under 6 s of wrk load at 50 connections, JSON chat completions:
#   bash bench/profile.sh [OUT_DIR]        (needs wrk; writes a grep-friendly Markdown profile to OUT_DIR)
# Self time in the profile is what to read first; samples in native code (fetch, SQLite's run/get) are real.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
OUT="${1:-$(mktemp -d)}"
mkdir -p "$OUT"
free_port() { bun -e 'const s = Bun.serve({ port: 0, fetch: () => new Response() }); console.log(s.port); s.stop(true)'; }
UP_PORT=$(free_port)
bun run "$ROOT/bench/fake-upstream.ts" "$UP_PORT" > "$OUT/upstream.log" 2>&1 &
UP=$!
trap 'kill $UP 2>/dev/null || true' EXIT
sleep 1
DIR=$(mktemp -d)
export GATEWAY_SECRET=bench-lookup-secret-0123456789 OPENAI_BASE_URL="http://127.0.0.1:$UP_PORT/v1" OPENAI_API_KEY=sk-bench NO_COLOR=1
KEY=$(cd "$DIR" && bun run "$ROOT/cli/index.ts" create-key bench --generate 1000000000 | sed -n 's/.*Plain key (save this securely): \(\S*\).*/\1/p')
GW_PORT=$(free_port)
(cd "$DIR" && bun --cpu-prof --cpu-prof-md --cpu-prof-interval=200 --cpu-prof-dir="$OUT" "$ROOT/cli/index.ts" serve --port "$GW_PORT" --host 127.0.0.1 --workers "${BENCH_WORKERS:-1}" > "$OUT/gateway.log" 2>&1) &
sleep 1.5
BENCH_KEY=$KEY BENCH_STREAM=${BENCH_STREAM:-0} wrk -t1 -c50 -d6s -s "$ROOT/bench/post.lua" "http://127.0.0.1:$GW_PORT/v1/chat/completions" | grep BENCH_
pkill -TERM -f "cli/index.ts serve --port $GW_PORT" || true
sleep 3
echo "profile: $(ls "$OUT"/*.md)"; bun run "$ROOT/bench/profile-summary.ts" "$OUT"/*.cpuprofile 40

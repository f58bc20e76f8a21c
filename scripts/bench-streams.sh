#!/usr/bin/env bash
# Camera stream benchmark (issue 13): one camera, three image tasks, on a local cluster started
# here (`s2m3 up`, 3 devices, private cache folder for its cluster.env): merged per-frame graph vs
# three independent requests per frame, then latency per task at 1, 5 and 10 fps. Prints the
# tables for docs/benchmarks.md. Extra arguments go to `s2m3 bench streams` (e.g. --seconds 5).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/setup.sh
swift build -c release --product s2m3
cache="${S2M3_CACHE:-.cache}"
run="$(mktemp -d)"
trap 'kill "$up" 2>/dev/null; wait "$up" 2>/dev/null; rm -rf "$run"' EXIT
S2M3_CACHE="$run" .build/release/s2m3 up --catalog catalog/default.json --models "$cache/models" --port 0 \
  --devices 3 --device-gflops 100 --logs "$run/logs" > "$run/up.out" 2>&1 &
up=$!
for _ in $(seq 600); do grep -q '^Ctrl-C stops the cluster' "$run/up.out" && break; sleep 0.5; done
grep -q '^Ctrl-C stops the cluster' "$run/up.out" || { cat "$run/up.out" >&2; exit 1; }
broker="$(grep -o 'mqtt://[0-9.]*:[0-9]*' "$run/up.out" | head -1)"
S2M3_CACHE="$cache" .build/release/s2m3 bench streams --broker "${broker#mqtt://}" "$@"

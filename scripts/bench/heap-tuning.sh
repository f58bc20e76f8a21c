#!/usr/bin/env bash
# glibc's heap defaults against S2M3's HeapTuning (Sources/LocalBroker/HeapTuning.swift) on the
# MQTT bus: `s2m3 bench bus` over the given payloads (default 100KB and 1MB), ROUNDS times each way,
# alternating (default 3). "defaults" sets GLIBC_TUNABLES to a harmless malloc tunable, which keeps
# both the s2m3 process and the broker it starts on glibc's defaults (an operator's own malloc
# tunables win over HeapTuning); "tuned" is what s2m3 does by itself. mosquitto_pub/sub run on
# glibc's defaults either way. Prints each run's rows (stderr), then the medians as markdown.
# Usage: scripts/bench/heap-tuning.sh [ROUNDS] [--payload 1MB ...]   (after scripts/setup.sh and a release build)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
rounds="${1:-3}"; shift || true
payloads=("$@"); [ ${#payloads[@]} -gt 0 ] || payloads=(--payload 100KB --payload 1MB)
bin=.build/release/s2m3
out="$(mktemp -d)"; trap 'rm -rf "$out"' EXIT
for round in $(seq 1 "$rounds"); do
  for mode in defaults tuned; do
    if [ "$mode" = defaults ]; then env=(GLIBC_TUNABLES=glibc.malloc.perturb=0); else env=(); fi
    env "${env[@]}" "$bin" bench bus --no-write "${payloads[@]}" | grep -E '^\| [0-9]+ [KM]B \| [01] \|' | awk -v m="$mode" '!seen[$0]++ { print m " " $0 }' >>"$out/rows"
    echo "heap-tuning: round $round $mode done" >&2
  done
done
cat "$out/rows" >&2
python3 - "$out/rows" "$rounds" <<'PY'
import re, statistics, sys
rows, rounds = open(sys.argv[1]).read().splitlines(), sys.argv[2]
def num(cell):
    m = re.match(r"([\d.]+) (msg/s|µs|ms)", cell.strip())
    if not m: return None
    v = float(m.group(1))
    return v * 1000 if m.group(2) == "ms" else v
lat, tp = {}, {}
for line in rows:
    mode, rest = line.split(" ", 1)
    cells = [c.strip() for c in rest.strip("|").split("|")]
    key = (cells[0], cells[1])
    if len(cells) == 8:   # latency row: p50 S2M3, p99, reference p50, p99, ratio, samples
        lat.setdefault((mode,) + key, []).append((num(cells[2]), num(cells[4])))
    elif len(cells) == 6:  # throughput row: S2M3, 1 in flight, reference, ratio
        tp.setdefault((mode,) + key, []).append((num(cells[2]), num(cells[4])))
med = lambda xs: statistics.median(xs)
print(f"| payload | QoS | heap | S2M3 p50 µs | mosquitto_sub p50 µs | S2M3 / reference | S2M3 msg/s | mosquitto_pub→sub msg/s | S2M3 / reference |")
print("|---|---|---|---:|---:|---:|---:|---:|---:|")
for key in sorted({k[1:] for k in lat}, key=lambda k: (k[0].endswith("MB"), k[0], k[1])):
    for mode in ("defaults", "tuned"):
        l, t = lat.get((mode,) + key, []), tp.get((mode,) + key, [])
        if not l or not t: continue
        s, r = med([a for a, _ in l]), med([b for _, b in l])
        ts, tr = med([a for a, _ in t]), med([b for _, b in t])
        print(f"| {key[0]} | {key[1]} | {mode} | {s:.0f} | {r:.0f} | {s / r:.2f}× | {ts:.0f} | {tr:.0f} | {ts / tr:.2f}× |")
print(f"\nMedians over {rounds} runs of each, alternating defaults and tuned.")
PY

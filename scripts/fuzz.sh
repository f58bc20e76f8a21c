#!/usr/bin/env bash
# Coverage-guided fuzzing (libFuzzer) of the decoders of outside bytes: builds s2m3-fuzz with
# -sanitize=fuzzer into .build/fuzz (a second, instrumented build: minutes on 2 cores) and runs
# each target for SECONDS (default 30), seeded with the set-up's fixtures, topics.md's examples
# and the placement examples. Crashes are saved under .build/fuzz/findings/<target>/; replay one
# with `S2M3_FUZZ_TARGET=<target> .build/debug/s2m3-fuzz FILE`. CI runs the seeded mutation tests
# (Tests/FuzzTests) instead: docs/benchmarks.md.
#   scripts/fuzz.sh [SECONDS] [TARGET…]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
seconds="${1:-30}"
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  targets=(request-json request-bundle request-unlabelled tensor-bundle invoke-bundle partial-bundle wav image media-headers placement-instance control-messages)
fi
cache="${S2M3_CACHE:-.cache}"
swift build --product s2m3-fuzz --build-path .build/fuzz \
  -Xswiftc -sanitize=fuzzer -Xswiftc -DS2M3_LIBFUZZER -Xswiftc -parse-as-library
binary=.build/fuzz/debug/s2m3-fuzz
seeds=.build/fuzz/seeds
rm -rf "$seeds" && mkdir -p "$seeds"
cp "$cache"/fixtures/*.jpg "$cache"/fixtures/*-224.png "$cache"/fixtures/ocr-inspection.png "$cache"/fixtures/cmd-*.wav "$seeds"/ 2>/dev/null || true
cp examples/placement/*.json "$seeds"/
swift build --product s2m3-fuzz  # the plain build writes the seed bundles
.build/debug/s2m3-fuzz --write-seeds "$seeds"
# The JSON examples of topics.md, one file each.
awk '/^```json$/{n++; f=sprintf("%s/topics-%03d.json", "'"$seeds"'", n); on=1; next} /^```$/{on=0} on{print > f}' topics.md
printf '%-20s %12s %10s %s\n' target inputs inputs/s result
for target in "${targets[@]}"; do
  work=.build/fuzz/corpus/$target findings=.build/fuzz/findings/$target
  mkdir -p "$work" "$findings"
  log=.build/fuzz/$target.log
  status=ok
  S2M3_FUZZ_TARGET="$target" "$binary" "$work" "$seeds" -max_total_time="$seconds" -max_len=1048576 \
    -rss_limit_mb=2048 -artifact_prefix="$findings/" -print_final_stats=1 >"$log" 2>&1 || status="CRASH (see $log)"
  runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo 0)
  printf '%-20s %12s %10s %s\n' "$target" "$runs" "$(( runs / seconds ))" "$status"
done

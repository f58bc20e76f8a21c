#!/usr/bin/env bash
# Placement solve time, before vs after, in one run: builds BASE's `s2m3` (a commit, e.g. the one
# before a change) in .build-baseline-src/ (its sources, scratch path .build-baseline-src/.build) and this checkout's into .build/, then runs both on the
# same instances, size by size, one after the other (the machine is shared: interleaving keeps the
# noise alike). Prints the tables of docs/benchmarks.md ("Placement solve time").
#   scripts/bench-placement-baseline.sh BASE [REPEATS]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
base=${1:?usage: scripts/bench-placement-baseline.sh BASE [REPEATS]}
repeats=${2:-3}
sizes=${SIZES:-20x4,50x10,100x20,200x40,500x100,1000x200,30x200,30x1000}
mkdir -p .build-baseline-src
git archive "$base" | tar -x -C .build-baseline-src
swift build -c release --product s2m3 --package-path .build-baseline-src --scratch-path .build-baseline-src/.build >&2
swift build -c release --product s2m3 >&2
old=.build-baseline-src/.build/release/s2m3
new=.build/release/s2m3

echo "<!-- scripts/bench-placement-baseline.sh $base $repeats (base $(git rev-parse --short "$base"), new $(git rev-parse --short HEAD)$(git diff --quiet || echo ' + uncommitted changes')) -->"
echo
echo "#### Solve time as instances grow: before ($base) and after"
echo
echo "\`s2m3 bench placement --skip-optimality --sizes SIZE --repeats $repeats\` of each build, size by size."
echo
echo "| modules × devices | build | task nodes | greedy | auto (median) | auto (slowest) | auto ÷ greedy objective | auto steps (last seed) |"
echo "|---|---|---:|---:|---:|---:|---:|---|"
for size in ${sizes//,/ }; do
  for build in before after; do
    binary=$old
    [ "$build" = after ] && binary=$new
    row=$("$binary" bench placement --skip-optimality --sizes "$size" --repeats "$repeats" --catalog /nonexistent | grep "^| $(echo "$size" | sed 's/x/ × /') |")
    # The new table has a "cut by time" column; drop it so both rows line up.
    if [ "$build" = after ]; then
      row=$(echo "$row" | awk -F'|' -v OFS='|' '{ $7 = ""; print }' | sed 's/||/|/')
    fi
    echo "$row" | sed "s/^| \([^|]*\) |/| \1 | $build |/"
  done
done

echo
echo "#### Time limits kept: wall time of \`s2m3 plan\`, before ($base) and after"
echo
folder=.build-baseline-instances
rm -rf "$folder"
"$new" bench placement --skip-optimality --sizes 30x200,30x1000,1000x200 --repeats 1 --catalog /nonexistent --write-instances "$folder" >/dev/null
echo "| instance | algorithm, limit | build | wall time | solveMs | budgetExhausted | objective (ms) |"
echo "|---|---|---|---:|---:|---|---:|"
run() {  # file, label, build, binary, plan arguments…
  local file=$1 label=$2 build=$3 binary=$4
  shift 4
  local start end json
  start=$(date +%s.%N)
  json=$("$binary" plan --instance "$file" --json "$@")
  end=$(date +%s.%N)
  local solve exhausted objective
  solve=$(echo "$json" | python3 -c 'import json,sys; print("%.0f" % json.load(sys.stdin)["solveMs"])')
  exhausted=$(echo "$json" | python3 -c 'import json,sys; print(str(json.load(sys.stdin)["budgetExhausted"]).lower())')
  objective=$(echo "$json" | python3 -c 'import json,sys; print("%.3f" % json.load(sys.stdin)["objectiveMs"])')
  printf '| %s (%s KB) | %s | %s | %.2f s | %s | %s | %s |\n' "$(basename "$file" .json)" "$(( $(stat -c %s "$file") / 1000 ))" \
    "$label" "$build" "$(echo "$end - $start" | bc)" "$solve" "$exhausted" "$objective"
}
for file in "$folder"/scaled-30x200-*.json "$folder"/scaled-30x1000-*.json; do
  run "$file" "auto, 2 s" before "$old" --algorithm auto
  run "$file" "auto, 2 s" after "$new" --algorithm auto
done
for file in "$folder"/scaled-1000x200-*.json; do
  run "$file" "exact, 5 s" before "$old" --algorithm exact --time-limit 5
  run "$file" "exact, 5 s" after "$new" --algorithm exact --time-limit 5
done

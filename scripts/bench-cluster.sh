#!/usr/bin/env bash
# Distributed execution benchmark (issue 5): per task, latency of the local cluster with parallel
# routing vs branches forced sequential vs the monolithic runner (in process and `s2m3 serve`) vs
# "cloud" (`s2m3 serve` behind scripts/bench/wan-relay.py: 20 ms each way, 20 Mbit/s), then
# throughput with 1, 2 and 3 device agents. One run, release build; writes the section
# "Distributed execution (issue 5)" of docs/benchmarks.md. Extra arguments go to
# `s2m3 bench cluster` (e.g. --requests 5, or --write /dev/null… see --help).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/setup.sh
swift build -c release --product s2m3
exec .build/release/s2m3 bench cluster --write docs/benchmarks.md "$@"

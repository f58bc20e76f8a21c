#!/usr/bin/env bash
# The README's test command: set up the machine, build, and run every test.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/setup.sh
swift build --build-tests
# One test at a time: many suites start brokers, clusters and child processes, and on 2 cores their
# timing checks (a hung device retried within 3 s, a broker restart under load) need the machine to
# themselves; about 10 minutes in all.
swift test --skip-build --no-parallel "$@"

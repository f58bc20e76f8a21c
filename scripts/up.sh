#!/usr/bin/env bash
# The README's run command: set up the machine, build, and start the local cluster until Ctrl-C.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/setup.sh
swift build -c release --product s2m3
exec .build/release/s2m3 up "$@"

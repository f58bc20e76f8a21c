#!/usr/bin/env bash
# MQTT bus benchmark: S2M3's MQTTBus vs mosquitto_pub/mosquitto_sub over loopback, one run,
# release build. Writes the "MQTT bus" section of docs/benchmarks.md. Extra arguments go to
# `s2m3 bench bus` (e.g. --quick, --no-write; --tls: TLS vs plain MQTTBus, the "MQTT bus: TLS vs
# plain" section).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/setup.sh
swift build -c release --product s2m3
exec .build/release/s2m3 bench bus "$@"

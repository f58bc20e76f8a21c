#!/usr/bin/env bash
# Installs everything S2M3 needs on a fresh Debian 12 machine, idempotently and quietly.
# Called by both README commands (scripts/up.sh and scripts/test.sh); safe to run again.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=scripts/setup-lib.sh
. "$here/setup-lib.sh"

# The Swift toolchain is the one thing the set-up does not install.
command -v swift >/dev/null 2>&1 || fail "finding the Swift toolchain" "no 'swift' on PATH" \
  "install Swift 6.2 or newer for Linux (see swift.org/install), put its usr/bin on PATH, and run scripts/setup.sh again"

# Debian packages: the broker and its client library (with OpenSSL's headers: MQTTBus checks a TLS
# server name through OpenSSL); tools used by tests and fixtures.
apt_packages=(mosquitto mosquitto-clients libmosquitto-dev libssl-dev pkg-config openssl)
# Image decoders of the built-in image pre-processing; unzip for wheels; speech for audio fixtures;
# the throw-away venv of the model conversions (setup.d/20-models.sh).
apt_packages+=(libturbojpeg0-dev libpng-dev unzip espeak-ng sox python3-venv)
# Network namespaces (ip, tc): the set-up failure tests and the cluster across namespaces
# (scripts/netns-cluster.sh and its test).
apt_packages+=(iproute2)
# The docker/ tests: docker-compose renders docker/compose.yaml (no Docker engine needed), Debian's
# python3 with PyYAML turns the rendered YAML into JSON.
apt_packages+=(docker-compose python3-yaml)

missing=()
for p in "${apt_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    sudo -n true 2>/dev/null || fail "installing Debian packages ${missing[*]}" \
      "not root, and sudo needs a password or is not installed" "sudo scripts/setup.sh  (or: sudo apt-get install ${missing[*]})"
    sudo="sudo"
  fi
  echo "setup: installing ${missing[*]}"
  fix="check that this machine reaches Debian's package repositories, then: $sudo apt-get update && $sudo apt-get install ${missing[*]}"
  try "apt-get update" "$fix" $sudo apt-get update -qq
  try "installing Debian packages ${missing[*]}" "$fix" \
    env DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# The broker is started by S2M3 itself; keep Debian's system-wide instance from holding port 1883.
if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet mosquitto 2>/dev/null; then
  systemctl disable --now mosquitto >/dev/null 2>&1 || true
fi

# Later steps (models, ONNX Runtime) live in their own scripts beside this one.
for step in "$here"/setup.d/*.sh; do
  [ -e "$step" ] || continue
  bash "$step"
done

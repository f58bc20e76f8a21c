#!/usr/bin/env bash
# A small venv with the Python MQTT client (paho-mqtt) and safetensors that topics.md's Python
# examples use, under ${S2M3_CACHE:-<repo>/.cache}/venv-clients, so the tests run those examples as
# written against a live cluster. A later run whose stamp matches does nothing.
# Needs: python3 with venv and pip (scripts/setup.sh installs them).
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# shellcheck source=scripts/setup-lib.sh
. "$repo/scripts/setup-lib.sh"
cache="${S2M3_CACHE:-$repo/.cache}"
py="${S2M3_PYTHON:-python3}"
venv="$cache/venv-clients"
requirements="$repo/scripts/clients/requirements.txt"
stamp="$(cat "$requirements" "${BASH_SOURCE[0]}" | sha256sum | cut -d' ' -f1)"
if [ "$(cat "$venv/.stamp" 2>/dev/null)" = "$stamp" ] && "$venv/bin/python" -c 'import paho.mqtt, safetensors.numpy' 2>/dev/null; then
  exit 0
fi
echo "python-clients: installing paho-mqtt, safetensors and numpy into $venv"
rm -rf "$venv"
need_pypi
try "creating the venv $venv" "apt-get install python3-venv && scripts/setup.sh" "$py" -m venv "$venv"
try "installing $requirements into $venv" "run scripts/setup.sh again once PyPI answers" \
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$requirements"
echo "$stamp" >"$venv/.stamp"

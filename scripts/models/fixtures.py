"""Test inputs made locally: photos from the scikit-image wheel, espeak-ng speech, an OCR page.

Photos: each original (PNG, or JPEG as shipped) plus a 224×224 PNG made with Pillow's bilinear
resize of the whole image (no crop, aspect not kept). The 224 PNGs are the exact inputs of the image
goldens, so a Swift test can check the ONNX modules without depending on its own resize.
Speech: `espeak-ng -v en-us -s 150` then `sox` to 16 kHz mono PCM16 without dither (repeatable).
"""
from __future__ import annotations

import io
import shutil
import subprocess
import tempfile
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from common import Cache

SKIMAGE = "scikit-image"

# fixture name → (file inside skimage/data, what a person sees; an ImageNet class it shows)
PHOTOS = {
    "chelsea": ("chelsea.png", "a cat (ImageNet 285 Egyptian cat)"),
    "coffee": ("coffee.png", "a cup of espresso (ImageNet 967 espresso)"),
    "camera": ("camera.png", "a photographer with a camera on a tripod (ImageNet 872 tripod), greyscale"),
    "motorcycle": ("motorcycle_left.png", "a motorbike (ImageNet 665 moped / 670 motor scooter)"),
    "rocket": ("rocket.jpg", "a rocket on its launch pad (ImageNet 657 missile / 744 projectile)"),
    "astronaut": ("astronaut.png", "an astronaut portrait (no clear ImageNet class)"),
}
JPEG_COPIES = ("chelsea", "coffee")  # also written as JPEG (quality 90) to exercise the JPEG decoder

SPEECH = {
    "cmd-turn-on-conveyor": "turn on the conveyor",
    "cmd-stop-line": "stop the line",
    "cmd-open-gate": "open the gate",
    "cmd-start-camera": "start the camera",
    "cmd-raise-alarm": "raise the alarm",
    "sentence-inspection": "The inspection camera found three damaged boxes on the second conveyor belt this morning.",
}
VAD_FIXTURE = "vad-silence-speech-silence"  # 1 s silence, "open the gate", 1 s silence

OCR_LINES = ("INSPECTION LINE 42", "BATCH OK")


def make_photos(cache: Cache) -> None:
    for name, (member, _) in PHOTOS.items():
        data = cache.read(SKIMAGE, f"skimage/data/{member}")
        ext = Path(member).suffix
        (cache.fixtures / f"{name}{ext}").write_bytes(data)
        img = Image.open(io.BytesIO(data)).convert("RGB")
        img.resize((224, 224), Image.BILINEAR).save(cache.fixtures / f"{name}-224.png")
        if name in JPEG_COPIES:
            img.save(cache.fixtures / f"{name}.jpg", quality=90)


def make_ocr_image(cache: Cache) -> None:
    img = Image.new("RGB", (640, 220), "white")
    draw = ImageDraw.Draw(img)
    font = ImageFont.load_default(size=48)
    for i, line in enumerate(OCR_LINES):
        draw.text((40, 40 + i * 90), line, fill="black", font=font)
    img.save(cache.fixtures / "ocr-inspection.png")


def _speak(text: str, out: Path, tmp: Path) -> None:
    raw = tmp / "raw.wav"
    subprocess.run(["espeak-ng", "-v", "en-us", "-s", "150", "-w", str(raw), text], check=True)
    subprocess.run(["sox", "-D", str(raw), "-r", "16000", "-c", "1", "-b", "16", "-e", "signed-integer",
                    str(out)], check=True)


def make_speech(cache: Cache) -> None:
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        for name, text in SPEECH.items():
            _speak(text, cache.fixtures / f"{name}.wav", tmp)
        speech = cache.fixtures / "cmd-open-gate.wav"
        subprocess.run(["sox", "-D", str(speech), str(cache.fixtures / f"{VAD_FIXTURE}.wav"),
                        "pad", "1", "1"], check=True)
        (cache.fixtures / "speech.txt").write_text(
            "".join(f"{name}.wav\t{text}\n" for name, text in SPEECH.items()))


def make_all(cache: Cache) -> None:
    if not shutil.which("espeak-ng") or not shutil.which("sox"):
        raise SystemExit("fixtures: espeak-ng and sox are needed (scripts/setup.sh installs them)")
    make_photos(cache)
    make_ocr_image(cache)
    make_speech(cache)

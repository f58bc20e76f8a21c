"""Golden values of the built-in image pre-processing (Tests/Fixtures/golden/engine/image.json).

Reference: Pillow's decoder and `Image.resize`, with torchvision's Resize(int)/CenterCrop/ToTensor/
Normalize arithmetic written out in numpy (torchvision calls exactly these Pillow functions).
Usage: python engine_image.py <fixtures dir> <output json>
"""
import json
import sys

import numpy as np
from PIL import Image

from engine_common import fnv1a64, strided

CONFIGS = {
    # Whole image to 224x224 (EfficientNet-Lite0 as the model set-up converts it).
    "stretch224": dict(stretch=[224, 224], filter="bilinear", mean=[0.5] * 3, std=[0.5] * 3),
    # torchvision Resize(256) + CenterCrop(224).
    "crop256": dict(resize=256, crop=224, filter="bilinear", mean=[0.5] * 3, std=[0.5] * 3),
    "imagenet-bicubic": dict(resize=232, crop=224, filter="bicubic",
                             mean=[0.485, 0.456, 0.406], std=[0.229, 0.224, 0.225]),
    # A non-square stretch (upscaling one side), bicubic.
    "stretch320x96": dict(stretch=[320, 96], filter="bicubic", mean=[0.5] * 3, std=[0.25] * 3),
}
FILTERS = {"bilinear": Image.BILINEAR, "bicubic": Image.BICUBIC}


def preprocess(img, cfg):
    if "stretch" in cfg:
        size = tuple(cfg["stretch"])
        pixels = np.asarray(img.resize(size, FILTERS[cfg["filter"]]), dtype=np.uint8)
        return normalize(pixels, cfg, size, (0, 0))
    w, h = img.size
    short, long = (w, h) if w <= h else (h, w)
    new_short, new_long = cfg["resize"], int(cfg["resize"] * long / short)
    new_w, new_h = (new_short, new_long) if w <= h else (new_long, new_short)
    resized = img.resize((new_w, new_h), FILTERS[cfg["filter"]])
    top = int(round((new_h - cfg["crop"]) / 2.0))
    left = int(round((new_w - cfg["crop"]) / 2.0))
    crop = resized.crop((left, top, left + cfg["crop"], top + cfg["crop"]))
    return normalize(np.asarray(crop, dtype=np.uint8), cfg, (new_w, new_h), (left, top))


def normalize(pixels, cfg, size, origin):
    x = pixels.astype(np.float32) / np.float32(255)
    x = (x - np.array(cfg["mean"], dtype=np.float32)) / np.array(cfg["std"], dtype=np.float32)
    tensor = x.transpose(2, 0, 1)[None].astype(np.float32)
    return size, origin, pixels, tensor


def lcg_image(width, height, seed=2024):
    """RGB bytes from a 32-bit LCG (the Swift tests make the same image)."""
    state, data = seed, bytearray()
    for _ in range(width * height * 3):
        state = (state * 1664525 + 1013904223) % 2**32
        data.append(state >> 24)
    return Image.frombytes("RGB", (width, height), bytes(data))


# Sizes around a 97x61 image: down, up, mixed, one axis only, strong reductions either way.
RESIZE_CASES = [(w, h, f) for f in ("bilinear", "bicubic") for (w, h) in [
    (48, 30), (96, 12), (90, 10), (20, 60), (10, 8), (194, 122), (200, 30), (30, 200), (97, 20),
    (40, 61), (3, 2), (1, 1), (95, 3), (60, 59), (150, 61)]]


def main(fixtures, out):
    synthetic = lcg_image(97, 61)
    resize_cases = [
        {"width": w, "height": h, "filter": f, "fnv1a64": fnv1a64(synthetic.resize((w, h), FILTERS[f]).tobytes())}
        for (w, h, f) in RESIZE_CASES
    ]
    images = {}
    for name in ["chelsea.png", "rocket.jpg", "camera.png", "logo.png"]:
        img = Image.open(f"{fixtures}/{name}").convert("RGB")
        raw = np.asarray(img, dtype=np.uint8)
        entry = {
            "width": img.size[0], "height": img.size[1],
            "rgb_fnv1a64": fnv1a64(raw.tobytes()),
            "rgb_sample_stride": 1009, "rgb_sample": strided(raw.reshape(-1), 1009),
            "preprocess": {},
        }
        for cfg_name, cfg in CONFIGS.items():
            size, offset, pixels, tensor = preprocess(img, cfg)
            flat = tensor.reshape(-1)
            entry["preprocess"][cfg_name] = {
                "resized": list(size), "crop_origin": list(offset),
                "crop_fnv1a64": fnv1a64(pixels.tobytes()),
                "shape": list(tensor.shape),
                "sum": float(flat.astype(np.float64).sum()),
                "sample_stride": 307, "sample": [round(float(v), 7) for v in strided(flat, 307)],
            }
        images[name] = entry
    json.dump({
        "generator": "scripts/golden/engine_image.py (Pillow %s, numpy %s)" % (Image.__version__, np.__version__),
        "tolerance": "decoded and resized 8-bit pixels exact (equal FNV-1a hash); tensor values 1e-6 absolute; sum 1e-2",
        "configs": CONFIGS, "images": images,
        "synthetic": {"width": 97, "height": 61, "seed": 2024, "fnv1a64": fnv1a64(synthetic.tobytes())},
        "resize_cases": resize_cases,
    }, open(out, "w"), separators=(",", ":"))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])

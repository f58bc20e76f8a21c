"""The bring-your-own-model example (docs/own-models.md) and the tokenizer references.

Usage: python clip_example.py --cache DIR --open-clip-wheel FILE
Run by scripts/setup.d/25-clip-example.sh in its own throw-away venv (torch CPU, transformers,
tokenizers, onnx, onnxruntime, pillow). Writes under DIR/models/clip-example/:

- vocab.json, merges.txt: CLIP's byte-level BPE vocabulary, made from the bpe_simple_vocab_16e6.txt.gz
  that the open_clip_torch wheel ships (the 49,408 tokens of transformers' CLIPTokenizer).
- clip-tokenizer.json, bert-tokenizer.json: Hugging Face `tokenizer.json` files (BPE from the files
  above, WordPiece from the models folder's bert-vocab.txt) written by the `tokenizers` library.
- tokenizer-reference.json: a corpus of test strings and the ids transformers' CLIPTokenizer and the
  `tokenizers` library give for each (Tests/PreprocessingTests compare the Swift tokenizers with them).
- clip-vision.onnx(+.onnx.data), clip-text.onnx(+.onnx.data): a tiny CLIP with random weights (fixed
  seed) exported through get_image_features / get_text_features, weights in external data files.
- clip-logits.onnx(+.onnx.data): CLIPModel's logits_per_image from the two embeddings (its learnt scale).
- clip-reference.json: transformers' embeddings and scores of the fixture photos and some captions
  (image through CLIPImageProcessor, text through CLIPTokenizer).
"""
from __future__ import annotations

import argparse
import gzip
import json
import zipfile
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import torch
from PIL import Image

SEED = 20261206
OPSET = 17
CONTEXT = 77
CAPTIONS = ["a photo of a cat", "a photo of a rocket", "a cup of coffee", "an astronaut", "a motorcycle",
            "a camera man"]
PHOTOS = ["chelsea.jpg", "coffee.jpg", "rocket.jpg", "astronaut.png", "camera.png", "motorcycle.png"]


def bytes_to_unicode() -> dict[int, str]:
    """GPT-2's reversible byte → printable character table (as CLIP's tokenizer uses it)."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, map(chr, cs)))


def vocabulary(wheel: Path, out: Path) -> None:
    """vocab.json + merges.txt from open_clip's gzipped merges (as open_clip's SimpleTokenizer builds them)."""
    with zipfile.ZipFile(wheel) as z:
        text = gzip.decompress(z.read("open_clip/bpe_simple_vocab_16e6.txt.gz")).decode("utf-8")
    merges = text.split("\n")[1:49152 - 256 - 2 + 1]
    pairs = [tuple(m.split()) for m in merges]
    vocab = list(bytes_to_unicode().values())
    vocab = vocab + [v + "</w>" for v in vocab]
    vocab += ["".join(p) for p in pairs]
    vocab += ["<|startoftext|>", "<|endoftext|>"]
    (out / "vocab.json").write_text(json.dumps({t: i for i, t in enumerate(vocab)}, ensure_ascii=False), encoding="utf-8")
    (out / "merges.txt").write_text("#version: 0.2\n" + "\n".join(" ".join(p) for p in pairs) + "\n", encoding="utf-8")


def corpus() -> list[str]:
    """At least 200 strings: punctuation, numbers, non-ASCII, whitespace, long inputs."""
    base = [
        "a photo of a cat", "A PHOTO OF A DOG!", "Hello, world.", "It's 3:45pm -- isn't it?", "don't we'll they're I'd",
        "e-mail: someone@example.com", "https://example.org/path?q=1&x=2", "price: $1,234.56 (approx.)",
        "version 2.0.1-beta+build.7", "100% sure; 50/50 chance", "C++ and C# and F#", "#hashtag @mention",
        "naïve café résumé", "Ünïcödé façade coöperate", "Straße in München", "Ελληνικά γράμματα", "русский текст",
        "日本語のテキスト", "中文文本测试", "한국어 텍스트", "emoji 😀🚀🐱 test", "mixed ａｂｃ full-width",
        "tabs\tand\nnewlines\r\nhere", "   leading and trailing spaces   ", "multiple     spaces   between",
        "ellipsis… and — dashes – here", "“curly quotes” and ‘single’", "«guillemets» ¿qué? ¡sí!",
        "math: 2+2=4, x^2, a*b/c", "under_score and snake_case_name", "CamelCaseWordsHere", "1234567890",
        "3.14159 2.71828 1e-10", "phone +49 (0)30 1234-5678", "ISO 8601: 2026-12-06T05:00:00Z",
        "zero‍width‌joiners", "control\x07bell\x1bchars", "soft\u00adhyphen", "ligature ﬁ ﬂ", "Roman Ⅻ and ① circled",
        "", " ", "!!!", "...", "'quoted'", "\"double\"", "a", "I", "the the the the", "supercalifragilisticexpialidocious",
        "pneumonoultramicroscopicsilicovolcanoconiosis", "antidisestablishmentarianism", "x" * 120,
        "hello world " * 40, "one, two; three: four. five! six? " * 8, "ßẞ ǅ ǈ İstanbul ıi", "Ａ photo Ｏf Ａ ＣＡＴ",
        "a photo of a 🐈 on a 🛋️", "naïve naive NAÏVE", "<|startoftext|> special <|endoftext|> text",
        "[CLS] bert [SEP] tokens [MASK]", "can't won't shouldn't", "O'Neil's rock 'n' roll", "l'été dernier",
        "año niño señor", "Zürich Genève Köln", "Åland Øresund Ærø", "čeština ďábel ňouma", "Đà Nẵng Việt Nam",
    ]
    words = ["cat", "dog", "photo", "street", "rocket", "coffee", "man", "woman", "red", "blue", "at", "night",
             "in", "the", "snow", "café", "über", "naïve", "piñata", "jalapeño", "東京", "Москва", "😀", "42",
             "3.5", "99%", "$10", "a.b.c", "x-ray", "o'clock", "e.g.", "—", "...", "!?"]
    rng = np.random.default_rng(SEED)
    generated = []
    while len(base) + len(generated) < 240:
        n = int(rng.integers(1, 14))
        sep = [" ", " ", " ", ", ", "  ", "-", "\t"]
        text = ""
        for i in range(n):
            text += str(rng.choice(words))
            if i < n - 1:
                text += str(rng.choice(sep))
        if rng.random() < 0.3:
            text = text.upper()
        if rng.random() < 0.3:
            text += str(rng.choice([".", "!", "?", "...", " :)"]))
        generated.append(text)
    return base + generated


def clip_tokenizer(out: Path):
    """transformers' CLIPTokenizer with the vocabulary and merges of `out`."""
    from transformers import CLIPTokenizer
    vocab = json.loads((out / "vocab.json").read_text(encoding="utf-8"))
    lines = (out / "merges.txt").read_text(encoding="utf-8").split("\n")[1:]
    return CLIPTokenizer(vocab=vocab, merges=[tuple(line.split(" ")) for line in lines if line])


def tokenizers_and_reference(out: Path, bert_vocab: Path) -> None:
    from tokenizers import Tokenizer
    from tokenizers.implementations import BertWordPieceTokenizer
    slow = clip_tokenizer(out)
    slow.backend_tokenizer.save(str(out / "clip-tokenizer.json"))
    BertWordPieceTokenizer(str(bert_vocab), lowercase=True).save(str(out / "bert-tokenizer.json"))
    clip_json = Tokenizer.from_file(str(out / "clip-tokenizer.json"))
    bert_json = Tokenizer.from_file(str(out / "bert-tokenizer.json"))
    texts = corpus()
    reference = {"corpus": texts, "clip": [], "clip_mask": [], "clip_json": [], "bert_json": []}
    for text in texts:
        enc = slow(text, padding="max_length", max_length=CONTEXT, truncation=True)
        reference["clip"].append(enc["input_ids"])
        reference["clip_mask"].append(enc["attention_mask"])
        reference["clip_json"].append(clip_json.encode(text).ids)
        reference["bert_json"].append(bert_json.encode(text).ids)
    (out / "tokenizer-reference.json").write_text(json.dumps(reference, ensure_ascii=False), encoding="utf-8")
    print(f"clip-example: {len(texts)} reference strings")


class Vision(torch.nn.Module):
    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, pixel_values):
        return features(self.model.get_image_features(pixel_values=pixel_values))


class Text(torch.nn.Module):
    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, input_ids, attention_mask):
        return features(self.model.get_text_features(input_ids=input_ids, attention_mask=attention_mask))


class Logits(torch.nn.Module):
    """CLIPModel.forward's logits_per_image from the two towers' embeddings."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, image_embeds, text_embeds):
        image = image_embeds / image_embeds.norm(p=2, dim=-1, keepdim=True)
        text = text_embeds / text_embeds.norm(p=2, dim=-1, keepdim=True)
        return self.model.logit_scale.exp() * image @ text.t()


def features(value):
    """get_*_features answer a tensor (transformers 4) or an output whose pooler_output is it (5)."""
    return value if isinstance(value, torch.Tensor) else value.pooler_output


def export(module, args, path: Path, inputs, outputs, dynamic) -> None:
    tmp = path.with_suffix(".part.onnx")
    with torch.no_grad():
        torch.onnx.export(module, args, str(tmp), input_names=inputs, output_names=outputs, dynamic_axes=dynamic,
                          opset_version=OPSET, do_constant_folding=True, dynamo=False)
    graph = onnx.load(str(tmp))
    tmp.unlink()
    data = path.name + ".data"
    (path.parent / data).unlink(missing_ok=True)
    onnx.save_model(graph, str(path), save_as_external_data=True, all_tensors_to_one_file=True, location=data,
                    size_threshold=0)


def model_and_reference(out: Path, fixtures: Path) -> None:
    from transformers import CLIPConfig, CLIPImageProcessor, CLIPModel
    torch.manual_seed(SEED)
    config = CLIPConfig(
        text_config=dict(vocab_size=49408, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                         num_attention_heads=2, max_position_embeddings=CONTEXT),
        vision_config=dict(image_size=224, patch_size=32, hidden_size=32, intermediate_size=64,
                           num_hidden_layers=2, num_attention_heads=2),
        projection_dim=16)
    model = CLIPModel(config).eval()
    vision, text = Vision(model).eval(), Text(model).eval()
    tokenizer = clip_tokenizer(out)
    processor = CLIPImageProcessor()  # CLIP's own: shortest edge 224 bicubic, centre 224, CLIP mean/std
    export(vision, (torch.zeros(1, 3, 224, 224),), out / "clip-vision.onnx", ["pixel_values"], ["image_embeds"],
           {"pixel_values": {0: "N"}, "image_embeds": {0: "N"}})
    ids = torch.tensor([tokenizer("a photo", padding="max_length", max_length=CONTEXT)["input_ids"]] * 2)
    export(text, (ids, torch.ones_like(ids)), out / "clip-text.onnx", ["input_ids", "attention_mask"], ["text_embeds"],
           {"input_ids": {0: "N"}, "attention_mask": {0: "N"}, "text_embeds": {0: "N"}})

    dim = config.projection_dim
    export(Logits(model).eval(), (torch.ones(1, dim), torch.ones(3, dim)), out / "clip-logits.onnx",
           ["image_embeds", "text_embeds"], ["logits"],
           {"image_embeds": {0: "N"}, "text_embeds": {0: "M"}, "logits": {0: "N", 1: "M"}})

    reference = {"captions": CAPTIONS, "logit_scale": float(model.logit_scale.exp()), "photos": {}}
    enc = tokenizer(CAPTIONS, padding="max_length", max_length=CONTEXT, truncation=True, return_tensors="pt")
    with torch.no_grad():
        text_embeds = text(enc["input_ids"], enc["attention_mask"])
    reference["text_embeds"] = text_embeds.tolist()
    session = ort.InferenceSession(str(out / "clip-text.onnx"), providers=["CPUExecutionProvider"])
    got = session.run(None, {"input_ids": enc["input_ids"].numpy(), "attention_mask": enc["attention_mask"].numpy()})[0]
    check("clip-text", got, text_embeds.numpy())
    session = ort.InferenceSession(str(out / "clip-vision.onnx"), providers=["CPUExecutionProvider"])
    t = torch.nn.functional.normalize(text_embeds, dim=-1)
    for name in PHOTOS:
        pixels = processor(images=Image.open(fixtures / name), return_tensors="pt")["pixel_values"]
        with torch.no_grad():
            image_embeds = vision(pixels)
        check("clip-vision", session.run(None, {"pixel_values": pixels.numpy()})[0], image_embeds.numpy())
        cosines = (torch.nn.functional.normalize(image_embeds, dim=-1) @ t.T)[0]
        with torch.no_grad():
            probs = model(input_ids=enc["input_ids"], attention_mask=enc["attention_mask"],
                          pixel_values=pixels).logits_per_image.softmax(dim=-1)[0]
        reference["photos"][name] = {"image_embeds": image_embeds[0].tolist(), "cosines": cosines.tolist(),
                                     "probabilities": probs.tolist()}
    (out / "clip-reference.json").write_text(json.dumps(reference), encoding="utf-8")


def check(name: str, got: np.ndarray, expected: np.ndarray) -> None:
    err = float(np.abs(got - expected).max())
    if not err <= 1e-4:
        raise SystemExit(f"clip-example: {name}: ONNX Runtime differs from PyTorch by {err}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cache", required=True, type=Path)
    parser.add_argument("--open-clip-wheel", required=True, type=Path)
    args = parser.parse_args()
    out = args.cache / "models" / "clip-example"
    out.mkdir(parents=True, exist_ok=True)
    vocabulary(args.open_clip_wheel, out)
    tokenizers_and_reference(out, args.cache / "models" / "bert-vocab.txt")
    model_and_reference(out, args.cache / "fixtures")


if __name__ == "__main__":
    main()

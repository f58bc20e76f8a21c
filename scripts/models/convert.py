"""Makes every module file, asset and fixture under the cache, then checks digests.

Usage: python convert.py --cache DIR [--update-manifest]
       python convert.py --cache DIR --models-only --into DIR2   (the CPU-independence check)
Run by scripts/setup.d/20-models.sh inside a throw-away venv (torch CPU, numpy, onnx, onnxruntime,
safetensors, pillow). Each exported graph is run with ONNX Runtime and compared with PyTorch on a
fixture (tolerances below) before its digest is taken.

The model files are the same bytes on every x86-64 CPU: no weight is computed by torch's CPU kernels
during export (check_weights_copied), and the set-up converts them again with MKL and ATen forced onto
other CPU paths (--models-only under MKL_CBWR / ATEN_CPU_CAPABILITY) and requires identical digests.
"""
from __future__ import annotations

import argparse
import sys
import time
import wave
from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch
from PIL import Image

import assets
import effnet
import fixtures
import minilm
import whisper
from common import MANIFEST, Cache, load_manifest, sha256, write_json

OPSET = 17
TORCH_PINNED = "2.13.0"  # the version whose exports the manifest digests were taken with (any build: +cpu or PyPI's)
CONVERTED = ["effnet-lite0-trunk", "imagenet-head", "minilm-l6", "whisper-tiny-encoder", "whisper-tiny-decoder"]


def export(module, args, path: Path, inputs, outputs, dynamic) -> None:
    module.eval()  # export restores the previous mode afterwards; a wrapper must already be in eval
    tmp = path.with_suffix(".part.onnx")
    with torch.no_grad():
        torch.onnx.export(module, args, str(tmp), input_names=inputs, output_names=outputs,
                          dynamic_axes=dynamic, opset_version=OPSET, do_constant_folding=True, dynamo=False)
    check_weights_copied(tmp, module)
    tmp.replace(path)


def check_weights_copied(path: Path, module) -> None:
    """Fails unless every floating-point initializer of the exported graph is, bit for bit, a tensor of
    `module` (a parameter or buffer, or a 2-D one transposed; scalars excepted).

    This is what makes the exported bytes the same on every CPU: constant folding may then only have
    moved data (transpose, unsqueeze, concat), never computed new weights with torch's CPU kernels,
    whose float32 results depend on the SIMD path the CPU offers (see effnet.fold_batch_norms)."""
    import onnx
    from onnx import numpy_helper
    known = set()
    for t in list(module.state_dict().values()):
        a = t.detach().contiguous().numpy()
        if a.dtype.kind != "f":
            continue
        known.add((a.dtype.str, a.tobytes()))
        if a.ndim == 2:
            known.add((a.dtype.str, np.ascontiguousarray(a.T).tobytes()))
    computed = []
    for init in onnx.load(str(path)).graph.initializer:
        a = numpy_helper.to_array(init)
        if a.dtype.kind == "f" and a.size > 1 and (a.dtype.str, np.ascontiguousarray(a).tobytes()) not in known:
            computed.append(f"{init.name} {list(a.shape)}")
    if computed:
        raise SystemExit(f"convert: {path.name.replace('.part', '')}: {len(computed)} weight(s) were computed by the exporter, not copied "
                         f"from the checkpoint, so the bytes would depend on this CPU: {', '.join(computed[:5])}. "
                         "Fold such arithmetic in numpy float64 before export (see effnet.fold_batch_norms).")


def check(path: Path, feeds: dict, expected: np.ndarray, atol: float) -> float:
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    got = sess.run(None, feeds)[0]
    err = float(np.abs(got - expected).max())
    if not err <= atol:
        raise SystemExit(f"convert: {path.name} differs from PyTorch by {err} (> {atol})")
    print(f"convert: {path.name}: max |onnx - torch| = {err:.2e} (tolerance {atol})")
    return err


def image_tensor(path: Path) -> np.ndarray:
    a = np.asarray(Image.open(path).convert("RGB"), dtype=np.float32)
    return ((a / 255.0 - 0.5) / 0.5).transpose(2, 0, 1)[None].copy()


def convert_effnet(cache: Cache) -> None:
    net = effnet.load(cache)
    x = np.concatenate([image_tensor(cache.fixtures / f"{n}-224.png") for n in ("chelsea", "coffee")])
    trunk_path, head_path = cache.models / "effnet-lite0-trunk.onnx", cache.models / "imagenet-head.onnx"
    with torch.no_grad():
        emb = net.embed(torch.tensor(x))
        logits = net._fc(emb)
    folded = effnet.fold_batch_norms(effnet.load(cache))
    export(effnet.Trunk(folded).eval(), (torch.zeros(1, 3, 224, 224),), trunk_path, ["image"], ["embedding"],
           {"image": {0: "N"}, "embedding": {0: "N"}})
    export(net._fc, (torch.zeros(1, 1280),), head_path, ["embedding"], ["logits"],
           {"embedding": {0: "N"}, "logits": {0: "N"}})
    check(trunk_path, {"image": x}, emb.numpy(), 1e-4)
    check(head_path, {"embedding": emb.numpy()}, logits.numpy(), 1e-4)


def convert_minilm(cache: Cache) -> None:
    model = minilm.load(cache)
    path = cache.models / "minilm-l6.onnx"
    ids = torch.tensor([[101, 2735, 2006, 1996, 16637, 102, 0], [101, 2644, 1996, 2240, 102, 0, 0]])
    mask = (ids != 0).long()
    types = torch.zeros_like(ids)
    dyn = {"input_ids": {0: "N", 1: "T"}, "attention_mask": {0: "N", 1: "T"},
           "token_type_ids": {0: "N", 1: "T"}, "embedding": {0: "N"}}
    export(model, (ids, mask, types), path, ["input_ids", "attention_mask", "token_type_ids"], ["embedding"], dyn)
    with torch.no_grad():
        expected = model(ids[:, :6], mask[:, :6], types[:, :6]).numpy()
    check(path, {"input_ids": ids[:, :6].numpy(), "attention_mask": mask[:, :6].numpy(),
                 "token_type_ids": types[:, :6].numpy()}, expected, 1e-5)


def read_wav(path: Path) -> np.ndarray:
    with wave.open(str(path)) as w:
        assert w.getframerate() == 16000 and w.getnchannels() == 1 and w.getsampwidth() == 2
        return np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.float32) / 32768.0


def log_mel(audio: np.ndarray, filters: np.ndarray) -> np.ndarray:
    """Whisper's log-mel spectrogram of a clip padded (or cut) to 30 s: [80, 3000] float32."""
    audio = np.pad(audio, (0, max(0, 480000 - len(audio))))[:480000].astype(np.float64)
    padded = np.pad(audio, 200, mode="reflect")
    window = np.hanning(401)[:-1]  # periodic Hann of length 400
    frames = np.lib.stride_tricks.sliding_window_view(padded, 400)[::160] * window
    power = np.abs(np.fft.rfft(frames, axis=1)) ** 2  # [3001, 201]
    mel = filters.astype(np.float64) @ power[:-1].T  # [80, 3000]
    logspec = np.log10(np.maximum(mel, 1e-10))
    logspec = np.maximum(logspec, logspec.max() - 8.0)
    return ((logspec + 4.0) / 4.0).astype(np.float32)


def convert_whisper(cache: Cache) -> None:
    enc, dec = whisper.load(cache)
    mel = log_mel(read_wav(cache.fixtures / "cmd-open-gate.wav"), assets.mel_filters())[None]
    enc_path, dec_path = cache.models / "whisper-tiny-encoder.onnx", cache.models / "whisper-tiny-decoder.onnx"
    export(enc, (torch.zeros(1, 80, 3000),), enc_path, ["mel"], ["features"], None)
    with torch.no_grad():
        feats = enc(torch.tensor(mel))
        tokens = torch.tensor([[50257, 50362]])
        logits = dec(tokens, feats)
    # Traced with every size distinct and non-zero (T 2, F 3, P 4, S 5), so that none is baked in.
    heads, head = whisper.HEADS, whisper.HEAD
    cross_in, cross_out = whisper.cache_names()
    args = (tokens, torch.zeros(1, 3, whisper.D), torch.zeros(2 * whisper.LAYERS, heads, 4, head),
            *[torch.zeros(heads, head, 5) if "keys" in n else torch.zeros(heads, 5, head) for n in cross_in])
    dynamic = {"tokens": {1: "T"}, "features": {1: "F"}, "past": {2: "P"}, "logits": {1: "T"}, "present": {2: "P+T"},
               **{n: {2 if "keys" in n else 1: "S"} for n in cross_in},
               **{n: {2 if "keys" in n else 1: "F"} for n in cross_out}}
    export(whisper.CachedDecoder(dec), args, dec_path, ["tokens", "features", "past", *cross_in],
           ["logits", "present", *cross_out], dynamic)
    check(enc_path, {"mel": mel}, feats.numpy(), 1e-3)
    check(dec_path, whisper.first_feeds(feats.numpy(), [50257, 50362]), logits.numpy(), 1e-3)
    # The cached steps must pick the same tokens as the reference decoder run on the whole prefix.
    sess = ort.InferenceSession(str(dec_path), providers=["CPUExecutionProvider"])
    names = [o.name for o in sess.get_outputs()]
    cached = whisper.greedy(lambda feeds: dict(zip(names, sess.run(None, feeds))), feats.numpy(), [50257, 50362], 50256)
    reference = whisper.greedy_uncached(dec, feats, [50257, 50362], 50256)
    if cached != reference:
        raise SystemExit(f"convert: {dec_path.name}: cached greedy ids {cached} differ from the reference's {reference}")
    print(f"convert: {dec_path.name}: cached greedy decoding gives the reference ids {cached}")


def written_since(cache: Cache, start_ns: int) -> list[str]:
    """Files this run wrote (other tools may keep their own files in the same folders)."""
    return sorted(str(p.relative_to(cache.root)) for d in (cache.models, cache.fixtures) for p in d.iterdir()
                  if p.is_file() and not p.name.startswith(".") and p.stat().st_mtime_ns >= start_ns)


def convert_models_only(cache_root: str, into: str) -> int:
    """Converts the torch-made model files again into `into`/models (wheels and fixtures read from the
    cache) and compares them with the manifest: the CPU-independence check of the set-up."""
    import os
    root = Path(into)
    (root / "models").mkdir(parents=True, exist_ok=True)
    for sub in ("wheels", "fixtures"):
        link = root / sub
        if not link.exists():
            link.symlink_to(Path(cache_root).resolve() / sub)
    cache = Cache(root)
    convert_effnet(cache)
    convert_minilm(cache)
    convert_whisper(cache)
    expected = {a["path"]: a["sha256"] for a in load_manifest()["artifacts"]}
    paths = [f"models/{m}.onnx" for m in CONVERTED]
    bad = [p for p in paths if sha256(root / p) != expected.get(p)]
    cpu = ", ".join(f"{k}={os.environ[k]}" for k in ("MKL_CBWR", "ATEN_CPU_CAPABILITY") if k in os.environ) or "default"
    if bad and base_version(torch.__version__) == TORCH_PINNED:
        print(f"convert: ERROR: with the CPU path forced to {cpu}, {', '.join(bad)} differ from models/manifest.json: "
              "the export depends on the CPU; every module digest would differ between machines", file=sys.stderr)
        return 1
    print(f"convert: CPU path {cpu}: {len(paths) - len(bad)} of {len(paths)} model files identical to models/manifest.json",
          file=sys.stderr)
    return 0


def base_version(version: str) -> str:
    return version.split("+")[0]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cache", required=True)
    ap.add_argument("--update-manifest", action="store_true")
    ap.add_argument("--models-only", action="store_true", help="convert only the torch-made models, into --into")
    ap.add_argument("--into", help="folder for --models-only (wheels and fixtures are linked from --cache)")
    args = ap.parse_args()
    torch.set_num_threads(2)
    if args.models_only:
        if not args.into:
            ap.error("--models-only needs --into")
        return convert_models_only(args.cache, args.into)
    cache = Cache(args.cache)
    start_ns = time.time_ns() - 1_000_000_000
    fixtures.make_all(cache)
    assets.make_all(cache)
    convert_effnet(cache)
    convert_minilm(cache)
    convert_whisper(cache)
    manifest = load_manifest()
    if args.update_manifest:
        paths = written_since(cache, start_ns)
    else:
        paths = [a["path"] for a in manifest["artifacts"]]
    missing = [p for p in paths if not (cache.root / p).is_file()]
    if missing:
        print(f"convert: not made: {', '.join(missing)}", file=sys.stderr)
        return 1
    made = [{"path": p, "sha256": sha256(cache.root / p)} for p in paths]
    if args.update_manifest:
        manifest["converted_with"] = {"torch": torch.__version__, "onnx_opset": OPSET}
        manifest["artifacts"] = made
        write_json(MANIFEST, manifest)
        print(f"convert: wrote {len(made)} digests to {MANIFEST}")
    expected = {a["path"]: a["sha256"] for a in manifest["artifacts"]}
    bad = [m["path"] for m in made if expected.get(m["path"]) != m["sha256"]]
    # Model files must match when made with the pinned torch; fixtures (espeak-ng, sox, Pillow output)
    # and exports by another torch may differ on another system: warn, the goldens' tolerances decide.
    strict = [p for p in bad if p.startswith("models/")] if base_version(torch.__version__) == TORCH_PINNED else []
    for p in bad:
        print(f"convert: {'ERROR' if p in strict else 'warning'}: {p} differs from its digest in "
              f"models/manifest.json (torch {torch.__version__}; the manifest was made with {TORCH_PINNED})",
              file=sys.stderr)
    if strict:
        print("convert: the module files above must be the same bytes on every machine; this is a bug of the "
              "conversion, please report it with this output", file=sys.stderr)
        return 1
    # What the set-up's fast path checks with `sha256sum -c` (the digests actually made here).
    (cache.models / "SHA256SUMS").write_text("".join(f"{m['sha256']}  {m['path']}\n" for m in made))
    return 0


if __name__ == "__main__":
    sys.exit(main())

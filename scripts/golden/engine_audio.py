"""Golden values of the built-in audio front end (Tests/Fixtures/golden/engine/audio.json).

References: OpenAI Whisper's own `whisper/audio.py` (pad_or_trim, log_mel_spectrogram with torch.stft)
and `assets/mel_filters.npz` from the openai-whisper sdist; `scipy.signal.resample_poly` for
resampling. Test signals are defined here and rebuilt bit-identically by the Swift tests (Python's
math.sin is the C library's sin, as Swift's is).
Usage: python engine_audio.py <whisper source dir> <fixtures dir> <output json>
"""
import json
import math
import sys
import types
import wave

import numpy as np
import torch
from scipy.signal import resample_poly

from engine_common import fnv1a64, strided


def load_whisper_audio(whisper_dir):
    """Whisper's audio.py as a module, without importing the rest of the package."""
    utils = types.ModuleType("whisper_utils_stub")
    utils.exact_div = lambda x, y: x // y
    source = open(f"{whisper_dir}/audio.py").read().replace("from .utils import exact_div", "")
    module = types.ModuleType("whisper_audio")
    module.__file__ = f"{whisper_dir}/audio.py"
    module.exact_div = utils.exact_div
    exec(compile(source, module.__file__, "exec"), module.__dict__)
    return module


def lcg_noise(count, amplitude, seed=12345):
    """Integers in [-amplitude, amplitude] from a 32-bit LCG (same in the Swift tests)."""
    state, out = seed, []
    for _ in range(count):
        state = (state * 1664525 + 1013904223) % 2**32
        out.append((state >> 8) % (2 * amplitude + 1) - amplitude)
    return out


def tones(rate, count, freqs, amps, phase, noise, seed):
    """PCM16 samples: sum of sines, rounded half-to-even, plus LCG noise, clipped."""
    n_noise = lcg_noise(count, noise, seed) if noise else [0] * count
    out = []
    for n in range(count):
        v = sum(a * math.sin(2 * math.pi * f * n / rate + phase) for f, a in zip(freqs, amps))
        out.append(max(-32768, min(32767, int(round(v)) + n_noise[n])))
    return out


SIGNALS = {
    # name: (rate, count, freqs, amps, phase, noise, seed)
    "tones16k": (16000, 28000, [440.0, 1870.5, 5200.0], [9000.0, 4000.0, 1500.0], 0.3, 500, 12345),
    "left44k": (44100, 22050, [300.0, 7000.0], [12000.0, 3000.0], 0.0, 200, 777),
    "right44k": (44100, 22050, [1000.0], [8000.0], 1.0, 0, 0),
}


def logmel_entry(audio_module, samples):
    x = torch.from_numpy(np.asarray(samples, dtype=np.float32))
    mel = audio_module.log_mel_spectrogram(audio_module.pad_or_trim(x), n_mels=80).numpy()
    flat = mel.reshape(-1)
    return {
        "shape": [1] + list(mel.shape), "sum": float(flat.astype(np.float64).sum()),
        "min": float(flat.min()), "max": float(flat.max()),
        "sample_stride": 101, "sample": [round(float(v), 6) for v in strided(flat, 101)],
    }


def main(whisper_dir, fixtures, out):
    audio = load_whisper_audio(whisper_dir)
    golden = {
        "generator": "scripts/golden/engine_audio.py (whisper audio.py, torch %s, scipy resample_poly)" % torch.__version__,
        "tolerance": "log-mel values 1e-4 absolute (measured 1.3e-5: float32 torch vs float64 Swift); resampled samples 1e-6 (measured 3e-8); mel filters exact",
        "signals": {k: dict(zip(["rate", "count", "freqs", "amps", "phase", "noise", "seed"], v)) for k, v in SIGNALS.items()},
    }
    filters = np.load(f"{whisper_dir}/assets/mel_filters.npz")["mel_80"]
    golden["mel_filters_80"] = [
        {"start": int(np.flatnonzero(row)[0]), "weights": [float(w) for w in row[np.flatnonzero(row)[0]:np.flatnonzero(row)[-1] + 1]]}
        for row in filters
    ]

    pcm = {k: tones(*v) for k, v in SIGNALS.items()}
    golden["tones16k_pcm_fnv1a64"] = fnv1a64(np.asarray(pcm["tones16k"], dtype="<i2").tobytes())
    golden["tones16k_logmel"] = logmel_entry(audio, np.asarray(pcm["tones16k"], dtype=np.float32) / 32768)

    # Stereo 44.1 kHz: mono = mean of channels, then resample to 16 kHz.
    left = np.asarray(pcm["left44k"], dtype=np.float32) / 32768
    right = np.asarray(pcm["right44k"], dtype=np.float32) / 32768
    mono = (left + right) / np.float32(2)
    resampled = resample_poly(mono.astype(np.float64), 160, 441)
    golden["stereo44k_resampled"] = {
        "count": len(resampled), "sample_stride": 7, "sample": [round(float(v), 8) for v in strided(resampled, 7)],
    }

    # Real speech from espeak-ng (22050 Hz PCM16 mono): decode, resample, log-mel.
    raw = open(f"{fixtures}/speech-22k.wav", "rb").read()
    with wave.open(f"{fixtures}/speech-22k.wav") as w:
        rate, frames = w.getframerate(), w.readframes(w.getnframes())
    speech = np.frombuffer(frames, dtype="<i2").astype(np.float32) / 32768
    speech16k = resample_poly(speech.astype(np.float64), 320, 441).astype(np.float32)
    golden["speech"] = {
        "file_fnv1a64": fnv1a64(raw), "rate": rate, "count": len(speech),
        "resampled_count": len(speech16k),
        "resampled_sample_stride": 211, "resampled_sample": [round(float(v), 8) for v in strided(speech16k, 211)],
        "logmel": logmel_entry(audio, speech16k),
    }
    json.dump(golden, open(out, "w"), separators=(",", ":"))


if __name__ == "__main__":
    main(*sys.argv[1:4])

#!/usr/bin/env python3
"""The OCR detector's first run at a page shape it has not seen, under ONNX Runtime's memory
settings (docs/benchmarks.md, "First request: read-text"). Needs Python's onnxruntime at the
version S2M3 links (the set-up does not install it):

    python3 -m venv /tmp/ort && /tmp/ort/bin/pip install onnxruntime==1.32.0 numpy
    GLIBC_TUNABLES=glibc.malloc.mmap_threshold=8388608:glibc.malloc.trim_threshold=16777216 \\
        /tmp/ort/bin/python scripts/bench/ocr-shapes.py [.cache/models/ocr-detect.onnx]

(the tunables are S2M3's HeapTuning). For each setting, in a fresh process: one run at the warm-up
shape (736 × 736), then the benchmark page's detector shape (736 × 2144, from 640 × 220) three
times and another page's (736 × 1984, from 800 × 300) twice; ms per run and resident MiB after."""
import json, os, subprocess, sys, time

MODEL = sys.argv[1] if len(sys.argv) > 1 and not sys.argv[1].startswith("--") else ".cache/models/ocr-detect.onnx"
SETTINGS = {"arena": (True, True), "no-arena": (True, False), "no-arena-no-pattern": (False, False)}


def resident_mib():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS"):
                return int(line.split()[1]) // 1024
    return 0


def child(name):
    import numpy as np
    import onnxruntime as ort
    pattern, arena = SETTINGS[name]
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.enable_mem_pattern = pattern
    options.enable_cpu_mem_arena = arena
    session = ort.InferenceSession(MODEL, options, providers=["CPUExecutionProvider"])

    def run(height, width):
        x = np.random.rand(1, 3, height, width).astype(np.float32)
        start = time.perf_counter()
        session.run(None, {"x": x})
        return round((time.perf_counter() - start) * 1000)

    runs = {"736x736": [run(736, 736)], "736x2144": [run(736, 2144) for _ in range(3)], "736x1984": [run(736, 1984) for _ in range(2)]}
    print(json.dumps({"setting": name, "runs": runs, "residentMiB": resident_mib()}))


if "--child" in sys.argv:
    child(sys.argv[sys.argv.index("--child") + 1])
else:
    print("| setting | 736×736 (warm-up) | 736×2144: 1st, 2nd, 3rd run | 736×1984: 1st, 2nd | resident MiB after |")
    print("|---|---:|---|---|---:|")
    for _ in range(2):
        for name in SETTINGS:
            out = subprocess.run([sys.executable, __file__, MODEL, "--child", name], capture_output=True, text=True, check=True).stdout
            r = json.loads(out)
            runs = r["runs"]
            print(f"| {name} | {runs['736x736'][0]} | {', '.join(map(str, runs['736x2144']))} | {', '.join(map(str, runs['736x1984']))} | {r['residentMiB']} |")

#!/usr/bin/env python3
"""Makes and checks Tests/Fixtures/bundles/python-golden.json, the TensorBundle interop fixture.

The fixture holds:
  expected              every tensor (dtype, shape, values) and the metadata, as plain JSON;
  python_written_base64 the same content written by Python's `safetensors` (Swift must read it);
  python_request_base64 a task request bundle made the way topics.md shows for Python clients;
  swift_written_base64  the same content written by S2M3's Swift encoder (Python must read it,
                        and the Swift test checks its encoder still produces exactly these bytes).

Run in a throw-away virtual environment:
    python3 -m venv /tmp/st-venv && /tmp/st-venv/bin/pip install safetensors numpy
    /tmp/st-venv/bin/python scripts/golden/make_bundle_fixture.py             # (re)write python part
    /tmp/st-venv/bin/python scripts/golden/make_bundle_fixture.py --swift-base64 B64
        # B64: what the failing Swift test `MessagesInteropTests` printed; checked, then recorded.
    /tmp/st-venv/bin/python scripts/golden/make_bundle_fixture.py --check     # re-check both parts
"""
import argparse
import base64
import json
import pathlib
import re
import sys

import numpy as np
import safetensors
from safetensors.numpy import load, save

FIXTURE = pathlib.Path(__file__).resolve().parents[2] / "Tests/Fixtures/bundles/python-golden.json"
CAPTION = "a cat \u2014 caf\u00e9 \"quoted\""

METADATA = {
    "s2m3.schema": "s2m3.fixture/1",
    "note": "quote \" backslash \\ newline \n tab \t unicode \u00e9",
    "s2m3.content-type.caption": "text/plain; charset=utf-8",
}


def tensors():
    return {
        "embedding": np.array([[0.5, -1.25, 3.0], [1e-3, -0.0, 65504.0]], dtype=np.float32),
        "half": np.array([1.0, -2.0, 0.5, 65504.0, 0.0001], dtype=np.float16),
        "ids": np.array([[1, -2], [9007199254740993, -9223372036854775808]], dtype=np.int64),
        "lengths": np.array([0, 2147483647, -5], dtype=np.int32),
        "pixels": np.array([0, 127, 128, 255], dtype=np.uint8).reshape(2, 2, 1),
        "mask": np.array([True, False, True]),
        "scalar": np.array(42.5, dtype=np.float32),
        "empty": np.zeros((0, 4), dtype=np.float32),
        "caption": np.frombuffer(CAPTION.encode("utf-8"), dtype=np.uint8),
    }


DTYPES = {np.float32: "F32", np.float16: "F16", np.int64: "I64", np.int32: "I32", np.uint8: "U8", np.bool_: "BOOL"}


def request_bundle():
    """A request as a Python client builds it (topics.md, `requests/{task}`, bundle form)."""
    jpeg = bytes([0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10]) + b"JFIF"
    return save({"image": np.frombuffer(jpeg, dtype=np.uint8),
                 "text": np.frombuffer("a photo of a cat".encode(), dtype=np.uint8)},
                metadata={"s2m3.content-type.image": "image/jpeg",
                          "s2m3.content-type.text": "text/plain; charset=utf-8",
                          "s2m3.request-id": "py-req-1"})


def describe(array):
    """dtype, shape and values as JSON; F16 values as their raw 16-bit patterns."""
    dtype = DTYPES[array.dtype.type]
    flat = array.reshape(-1)
    if dtype == "F16":
        values = [int(v) for v in flat.view(np.uint16)]
    elif dtype == "F32":
        values = [float(v) for v in flat]
    elif dtype == "BOOL":
        values = [bool(v) for v in flat]
    else:
        values = [int(v) for v in flat]
    return {"dtype": dtype, "shape": list(array.shape), "values": values}


def check_bytes(blob, expected, who):
    loaded = load(blob)
    want = tensors()
    assert sorted(loaded) == sorted(want), f"{who}: tensor names {sorted(loaded)}"
    for name, array in want.items():
        got = loaded[name]
        assert got.dtype == array.dtype and got.shape == array.shape, f"{who}: {name} is {got.dtype} {got.shape}"
        assert got.tobytes() == array.tobytes(), f"{who}: {name} values differ"
        assert describe(got) == expected["tensors"][name], f"{who}: {name} differs from expected"
    header_length = int.from_bytes(blob[:8], "little")
    metadata = json.loads(blob[8:8 + header_length]).get("__metadata__", {})
    assert metadata == expected["metadata"], f"{who}: metadata {metadata}"
    assert (8 + header_length) % 8 == 0, f"{who}: data section not 8-byte aligned"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--swift-base64", help="a Swift-written bundle to check and record")
    parser.add_argument("--check", action="store_true", help="only check the committed fixture")
    args = parser.parse_args()

    if args.check:
        fixture = json.loads(FIXTURE.read_text())
        check_bytes(base64.b64decode(fixture["python_written_base64"]), fixture["expected"], "python-written")
        check_bytes(base64.b64decode(fixture["swift_written_base64"]), fixture["expected"], "swift-written")
        print("fixture checks out with safetensors", safetensors.__version__)
        return

    expected = {"tensors": {name: describe(array) for name, array in tensors().items()}, "metadata": METADATA}
    fixture = json.loads(FIXTURE.read_text()) if FIXTURE.exists() else {}
    if args.swift_base64:
        check_bytes(base64.b64decode(args.swift_base64), expected, "swift-written")
        fixture["swift_written_base64"] = args.swift_base64
    else:
        blob = save(tensors(), metadata=METADATA)
        check_bytes(blob, expected, "python-written")
        fixture.update({
            "made_by": "scripts/golden/make_bundle_fixture.py",
            "safetensors_version": safetensors.__version__,
            "numpy_version": np.__version__,
            "expected": expected,
            "python_written_base64": base64.b64encode(blob).decode(),
            "python_request_base64": base64.b64encode(request_bundle()).decode(),
        })
        fixture.setdefault("swift_written_base64", "")
    text = json.dumps(fixture, indent=1, ensure_ascii=False)
    # One line per list of scalars keeps the fixture short and readable.
    text = re.sub(r"\[[^\[\]{}]*\]", lambda m: re.sub(r"\s+", "", m.group(0)).replace(",", ", "), text)
    FIXTURE.write_text(text + "\n")
    print("wrote", FIXTURE)


if __name__ == "__main__":
    sys.exit(main())

"""Goldens for ocr-detect/orient/recognise: what rapidocr-onnxruntime 1.4.4's own Python pipeline
reads on the OCR fixture, with its intermediate values, using the copied ONNX files."""
from __future__ import annotations

import numpy as np

import fixtures
from common import Cache, rounded


def make(cache: Cache) -> dict:
    import cv2
    from rapidocr_onnxruntime import RapidOCR
    engine = RapidOCR(det_model_path=str(cache.models / "ocr-detect.onnx"),
                      cls_model_path=str(cache.models / "ocr-orient.onnx"),
                      rec_model_path=str(cache.models / "ocr-recognise.onnx"))
    path = cache.fixtures / "ocr-inspection.png"
    result, _ = engine(str(path))
    img = cv2.imread(str(path))  # BGR, as rapidocr loads it
    det_in = engine.text_det.get_preprocess(max(img.shape[:2]))(img)
    det_map = engine.text_det.infer(det_in)[0]
    boxes = engine.auto_text_det(img)[0]
    crops = engine.get_crop_img_list(img, boxes)
    _, cls_res, _ = engine.text_cls(crops)
    rec_res, _ = engine.text_rec(crops)
    return {
        "modules": ["ocr-detect", "ocr-orient", "ocr-recognise"],
        "reference": "rapidocr-onnxruntime 1.4.4 RapidOCR() with its default config.yaml",
        "image": path.name, "image_size_wh": [int(img.shape[1]), int(img.shape[0])],
        "expected_lines": list(fixtures.OCR_LINES),
        "detect": {"input_shape": list(det_in.shape),
                   "map_shape": list(det_map.shape), "map_mean": round(float(det_map.mean()), 6),
                   "map_pixels_above_0.3": int((det_map > 0.3).sum()),
                   "boxes": [np.asarray(b).round(1).tolist() for b in boxes]},
        "orient": [{"label": l, "score": round(float(s), 6)} for l, s in cls_res],
        "recognise": [{"crop_hw": [int(c.shape[0]), int(c.shape[1])], "text": t, "score": round(float(s), 6)}
                      for c, (t, s) in zip(crops, rec_res)],
        "result": [{"box": np.asarray(b).tolist(), "text": t, "score": round(float(s), 6)} for b, t, s in result],
    }

import Inference
import Preprocessing

/// The stages of ``TextReader`` as pure functions, so that the runtime's OCR modules (ocr-preprocess,
/// ocr-crop, ocr-orient, ocr-recognise) compute exactly what the reader computes.
extension TextReader {
    /// rapidocr's `max_side_len`: a longer image side is first scaled down to this.
    public static let maximumImageSide = 2000
    /// The detector never sees a longer side than this (our own bound, beyond rapidocr, for pages more
    /// than about 5:1): the page and its map then stay well under the broker's 16 MiB packet limit.
    public static let maximumDetectionSide = 4000

    /// The detector's input size for an image, rapidocr's order: (1) if the longer side exceeds
    /// ``maximumImageSide``, scale it to that (sizes truncated, then rounded to multiples of 32, ties to
    /// even, as Python's `round`); (2) if the shorter side is under `side`, scale it up to `side`
    /// (sizes truncated), each side then rounded to the nearest multiple of 32 (at least 32); (3) if the
    /// longer side still exceeds ``maximumDetectionSide`` (very elongated pages), scale down to it.
    public static func detectionSize(width: Int, height: Int, side: Int = 736) -> (width: Int, height: Int) {
        func multipleOf32(_ v: Double, _ rule: FloatingPointRoundingRule = .toNearestOrAwayFromZero) -> Int {
            max(32, Int((Double(Int(v)) / 32).rounded(rule)) * 32)
        }
        var (w, h) = (width, height)
        if max(w, h) > maximumImageSide {
            let ratio = Double(maximumImageSide) / Double(max(w, h))
            (w, h) = (multipleOf32(Double(w) * ratio, .toNearestOrEven), multipleOf32(Double(h) * ratio, .toNearestOrEven))
        }
        let ratio = min(w, h) < side ? Double(side) / Double(min(w, h)) : 1
        (w, h) = (multipleOf32(Double(w) * ratio), multipleOf32(Double(h) * ratio))
        if max(w, h) > maximumDetectionSide {
            let ratio = Double(maximumDetectionSide) / Double(max(w, h))
            (w, h) = (multipleOf32(Double(w) * ratio, .down), multipleOf32(Double(h) * ratio, .down))
        }
        return (w, h)
    }

    /// The page the detector sees: the image resized (bilinear) to ``detectionSize(width:height:side:)``.
    /// One resize from the original even when rapidocr would resize twice (step 1, then step 2).
    public static func detectionPage(_ image: RGBImage, side: Int = 736) throws -> RGBImage {
        let (width, height) = detectionSize(width: image.width, height: image.height, side: side)
        if width == image.width, height == image.height { return image }
        return try ImageResampler.resize(image, width: width, height: height, filter: .bilinear)
    }

    /// The detector's input: ``detectionPage(_:side:)``, BGR, normalised.
    public static func detectionInput(_ image: RGBImage, side: Int = 736) throws -> Tensor {
        let page = try detectionPage(image, side: side)
        return try bgrTensor(page, paddedWidth: page.width)
    }

    /// The probability map as bytes: `round(p × 255)`, clamped to 0…255 (NaN as 0). DB post-processing on
    /// ``dequantised(_:)`` of it thresholds exactly as on the floats (0.3 × 255 = 76.5 lies between
    /// two steps); box scores move by at most 1/510.
    public static func quantised(_ map: [Float]) -> [UInt8] {
        map.map { $0.isNaN ? 0 : UInt8(max(0, min(255, ($0 * 255).rounded()))) }
    }

    /// ``quantised(_:)`` back to probabilities, `q / 255`.
    public static func dequantised(_ map: [UInt8]) -> [Float] {
        map.map { Float($0) / 255 }
    }

    /// Text boxes in image coordinates from the detector's `mapWidth`×`mapHeight` probability map.
    public static func boxes(
        map: [Float], mapWidth width: Int, mapHeight height: Int, image: RGBImage, finder: TextBoxFinder = TextBoxFinder()
    ) -> [TextBoxFinder.Box] {
        let sx = Double(image.width) / Double(width), sy = Double(image.height) / Double(height)
        return finder.boxes(map: map, width: width, height: height).compactMap { box in
            let x0 = max(0, Int((Double(box.x) * sx).rounded())), y0 = max(0, Int((Double(box.y) * sy).rounded()))
            let x1 = min(image.width, Int((Double(box.x + box.width) * sx).rounded()))
            let y1 = min(image.height, Int((Double(box.y + box.height) * sy).rounded()))
            guard x1 - x0 > 3, y1 - y0 > 3 else { return nil }
            return TextBoxFinder.Box(x: x0, y: y0, width: x1 - x0, height: y1 - y0, score: box.score)
        }
    }

    /// The orientation classifier's input [1,3,48,192]: height 48, width min(192, ⌈48·w/h⌉), padded right.
    public static func orientationInput(_ crop: RGBImage) throws -> Tensor {
        let width = min(192, Int((48 * Double(crop.width) / Double(crop.height)).rounded(.up)))
        let resized = try ImageResampler.resize(crop, width: max(1, width), height: 48, filter: .bilinear)
        return try bgrTensor(resized, paddedWidth: 192)
    }

    /// Whether the classifier's two probabilities (0°, 180°) say the line is upside down.
    public static func isUpsideDown(_ p: ArraySlice<Float>) -> Bool {
        guard p.count == 2 else { return false }
        let up = p[p.startIndex], down = p[p.startIndex + 1]
        return down > up && down > 0.9
    }

    /// The recogniser's crop: height 48 and the width keeping the aspect ratio (⌈48·w/h⌉, capped at
    /// ⌊48·w/h⌋ for lines wider than 320/48), before padding.
    public static func recognitionImage(_ crop: RGBImage) throws -> RGBImage {
        let aspect = Double(crop.width) / Double(crop.height)
        let padded = Int(48 * max(320.0 / 48, aspect))
        let width = max(1, min(padded, Int((48 * aspect).rounded(.up))))
        return try ImageResampler.resize(crop, width: width, height: 48, filter: .bilinear)
    }

    /// The width the recogniser sees for a crop `width` wide at height 48: at least 320.
    public static func recognitionPaddedWidth(_ width: Int) -> Int { max(320, width) }

    /// The recogniser's input [1,3,48,W] of a crop.
    public static func recognitionInput(_ crop: RGBImage) throws -> Tensor {
        let resized = try recognitionImage(crop)
        return try bgrTensor(resized, paddedWidth: recognitionPaddedWidth(resized.width))
    }
}

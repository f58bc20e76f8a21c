import Inference
import Preprocessing

/// The stages of ``TextReader`` as pure functions, so that the runtime's OCR modules (ocr-preprocess,
/// ocr-crop, ocr-orient, ocr-recognise) compute exactly what the reader computes.
extension TextReader {
    /// The detector's input size for an image: the shorter side scaled up to `side` (sizes truncated),
    /// each side then rounded to the nearest multiple of 32 (at least 32).
    public static func detectionSize(width: Int, height: Int, side: Int = 736) -> (width: Int, height: Int) {
        let ratio = min(width, height) < side ? Double(side) / Double(min(width, height)) : 1
        func multipleOf32(_ v: Double) -> Int { max(32, Int((Double(Int(v)) / 32).rounded()) * 32) }
        return (multipleOf32(Double(width) * ratio), multipleOf32(Double(height) * ratio))
    }

    /// The detector's input: the image resized (bilinear) to ``detectionSize(width:height:side:)``, BGR, normalised.
    public static func detectionInput(_ image: RGBImage, side: Int = 736) throws -> Tensor {
        let (width, height) = detectionSize(width: image.width, height: image.height, side: side)
        let resized = try ImageResampler.resize(image, width: width, height: height, filter: .bilinear)
        return try bgrTensor(resized, paddedWidth: width)
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

import Inference
import Preprocessing

/// Reads text in an image with PP-OCR split into its three modules: `ocr-detect` (text probability
/// map), `ocr-orient` (0° or 180°) and `ocr-recognise` (characters, CTC), following rapidocr 1.4.4's
/// recipe (docs/models.md) for upright text.
public struct TextReader: Sendable {
    public let detector: InferenceSession
    public let orienter: InferenceSession
    public let recogniser: InferenceSession
    public let ctc: CTCDecoder
    public var boxFinder = TextBoxFinder()
    /// Shorter side the detector sees (rapidocr's `limit_side_len`, `limit_type: min`).
    public var detectionSide = 736
    /// Lines scoring below this are dropped (rapidocr's `text_score`).
    public var minimumScore: Float = 0.5

    public init(detector: InferenceSession, orienter: InferenceSession, recogniser: InferenceSession, characters: [String]) {
        self.detector = detector
        self.orienter = orienter
        self.recogniser = recogniser
        self.ctc = CTCDecoder(characters: characters)
    }

    /// One line of text, its box in image pixels and its score.
    public struct Line: Sendable, Equatable {
        public var text: String
        public var score: Float
        public var x: Int, y: Int, width: Int, height: Int
    }

    /// The lines of `image`, top to bottom.
    public func read(_ image: RGBImage) async throws -> [Line] {
        let boxes = try await detect(image)
        var lines: [Line] = []
        for box in boxes {
            var crop = try image.crop(x: box.x, y: box.y, width: box.width, height: box.height)
            if try await isUpsideDown(crop) { crop = Self.rotated180(crop) }
            let (text, score) = try await recognise(crop)
            guard score >= minimumScore, !text.isEmpty else { continue }
            lines.append(Line(text: text, score: score, x: box.x, y: box.y, width: box.width, height: box.height))
        }
        return lines
    }

    /// Text boxes in image coordinates.
    func detect(_ image: RGBImage) async throws -> [TextBoxFinder.Box] {
        let input = try Self.detectionInput(image, side: detectionSide)
        let output = try await detector.run(inputs: ["x": input])
        let width = input.shape[3], height = input.shape[2]
        guard let map = output.values.first?.float32Values, map.count == width * height else {
            throw InferenceError(.runFailed, "the detector returned no [1,1,\(height),\(width)] map", modelPath: detector.modelPath)
        }
        return Self.boxes(map: map, mapWidth: width, mapHeight: height, image: image, finder: boxFinder)
    }

    func isUpsideDown(_ crop: RGBImage) async throws -> Bool {
        let output = try await orienter.run(inputs: ["x": Self.orientationInput(crop)])
        guard let p = output.values.first?.float32Values, p.count == 2 else { return false }
        return Self.isUpsideDown(p[...])
    }

    func recognise(_ crop: RGBImage) async throws -> (String, Float) {
        let output = try await recogniser.run(inputs: ["x": Self.recognitionInput(crop)])
        guard let probabilities = output.values.first, let values = probabilities.float32Values,
              probabilities.shape.count == 3
        else {
            throw InferenceError(.runFailed, "the recogniser returned no [1,T,C] probabilities", modelPath: recogniser.modelPath)
        }
        return ctc.decode(values[...], steps: probabilities.shape[1], classes: probabilities.shape[2])
    }

    /// BGR, `(v/255 − 0.5)/0.5`, NCHW, zero (after normalisation) right of the image up to `paddedWidth`.
    public static func bgrTensor(_ image: RGBImage, paddedWidth: Int) throws -> Tensor {
        let w = image.width, h = image.height, pw = max(paddedWidth, w)
        var values = [Float](repeating: 0, count: 3 * h * pw)
        for c in 0..<3 {
            let source = 2 - c
            for y in 0..<h {
                for x in 0..<w {
                    values[(c * h + y) * pw + x] = (Float(image.pixels[(y * w + x) * 3 + source]) / 255 - 0.5) / 0.5
                }
            }
        }
        return try Tensor(float32: values, shape: [1, 3, h, pw])
    }

    public static func rotated180(_ image: RGBImage) -> RGBImage {
        var pixels = [UInt8](repeating: 0, count: image.pixels.count)
        let n = image.width * image.height
        for i in 0..<n {
            for c in 0..<3 { pixels[(n - 1 - i) * 3 + c] = image.pixels[i * 3 + c] }
        }
        return (try? RGBImage(width: image.width, height: image.height, pixels: pixels)) ?? image
    }
}

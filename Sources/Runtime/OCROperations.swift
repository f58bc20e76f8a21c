import Inference
import Preprocessing
import S2M3Core
import TextReading

/// `ocr-preprocess`: page bytes → the page the detector sees (``TextReader/detectionPage(_:side:)``)
/// as RGB bytes `page` [1, H, W, 3]: a quarter of the float input's size on the wire; the
/// `ocr-detect` driver normalises it.
struct OCRPreprocessOperation: BuiltinOperation {
    /// Largest page decoded, pixels (``LimitsConfiguration/maxImagePixels``).
    var maxPixels = ImageDecoder.defaultMaxPixels

    func callAsFunction(_ inputs: ModuleInputs, _ outputs: inout ModuleOutputs) throws(ModuleError) {
        let image = try OCRPage.decode(inputs, maxPixels: maxPixels)
        let page: RGBImage
        do { page = try TextReader.detectionPage(image) } catch { throw ModuleError(.runFailed, module: inputs.module, "\(error)") }
        try outputs.set("page", tensor: try OCRBytes.tensor(page.pixels, shape: [1, page.height, page.width, 3], module: inputs.module))
    }
}

/// `ocr-crop`: the detector's map (uint8, ``OCRMap``) and the page → one crop per text box, top to bottom: `x`
/// [N,3,48,192] for the orientation classifier, `crops` [N,3,48,W] at height 48 keeping each
/// line's aspect ratio as RGB bytes [N,48,W,3] (zero right of `widths[i]`; a quarter of the floats),
/// as ``TextReader`` makes them; the drivers normalise them (``CropRows``).
struct OCRCropOperation: BuiltinOperation {
    var finder = TextBoxFinder()
    /// Largest page decoded, pixels (``LimitsConfiguration/maxImagePixels``).
    var maxPixels = ImageDecoder.defaultMaxPixels

    func callAsFunction(_ inputs: ModuleInputs, _ outputs: inout ModuleOutputs) throws(ModuleError) {
        let image = try OCRPage.decode(inputs, maxPixels: maxPixels)
        let (map, shape) = try OCRMap.read(inputs)
        let boxes = TextReader.boxes(map: map, mapWidth: shape[3], mapHeight: shape[2], image: image, finder: finder)
        var orientation: [Float] = [], lines: [RGBImage] = []
        do {
            for box in boxes {
                let crop = try image.crop(x: box.x, y: box.y, width: box.width, height: box.height)
                orientation += try TextReader.orientationInput(crop).float32Values ?? []
                lines.append(try TextReader.recognitionImage(crop))
            }
        } catch {
            throw ModuleError(.runFailed, module: inputs.module, "cannot crop a text box: \(error)")
        }
        let width = lines.map(\.width).max() ?? 0
        var crops = [UInt8](repeating: 0, count: lines.count * 48 * width * 3)
        for (index, line) in lines.enumerated() {
            for y in 0..<line.height {
                let to = ((index * 48 + y) * width) * 3, from = y * line.width * 3
                crops.replaceSubrange(to..<(to + line.width * 3), with: line.pixels[from..<(from + line.width * 3)])
            }
        }
        try outputs.set("x", floats: orientation, shape: [boxes.count, 3, 48, 192])
        try outputs.set("crops", tensor: try OCRBytes.tensor(crops, shape: [lines.count, 48, width, 3], module: inputs.module))
        try outputs.set("widths", int64s: lines.map { Int64($0.width) }, shape: [lines.count])
    }
}

/// `ctc-decode`: the recogniser's best paths (`classes` i64 [N,S], `scores` [N,S]) → the lines
/// scoring at least 0.5, as a list.
struct CTCDecodeOperation: BuiltinOperation {
    let decoder: CTCDecoder
    var minimumScore: Float = 0.5

    func callAsFunction(_ inputs: ModuleInputs, _ outputs: inout ModuleOutputs) throws(ModuleError) {
        let classes = try inputs.int64s("classes")
        let (scores, shape) = try inputs.floats("scores")
        guard try inputs.tensor("classes").shape == shape else {
            throw ModuleError(.wrongInput, module: inputs.module, input: "classes", "has shape \(try inputs.tensor("classes").shape), 'scores' has \(shape)")
        }
        let steps = shape[1]
        var lines: [String] = []
        for row in 0..<shape[0] {
            let range = (row * steps)..<((row + 1) * steps)
            let (text, score) = decoder.decode(classes: classes[range], scores: scores[range])
            if score >= minimumScore, !text.isEmpty { lines.append(text) }
        }
        try outputs.set("lines", texts: lines)
    }
}

/// The detector's map as an invocation carries it: `map` uint8 [1, 1, H, W] (``TextReader/quantised(_:)``).
enum OCRMap {
    static func read(_ inputs: ModuleInputs) throws(ModuleError) -> (values: [Float], shape: [Int]) {
        let bytes = try inputs.bytes("map"), shape = try inputs.tensor("map").shape
        guard shape.count == 4, shape[0] == 1, shape[1] == 1, shape[2] * shape[3] == bytes.count else {
            throw ModuleError(.wrongInput, module: inputs.module, input: "map", "has shape \(shape), expected [1, 1, H, W]")
        }
        return (TextReader.dequantised(bytes), shape)
    }
}

enum OCRBytes {
    /// A uint8 output tensor; a failure to build it is the module's own fault (`runFailed`).
    static func tensor(_ bytes: [UInt8], shape: [Int], module: String) throws(ModuleError) -> BundleTensor {
        do { return try BundleTensor(uint8s: bytes, shape: shape) } catch {
            throw ModuleError(.runFailed, module: module, "cannot store a [\(shape.map(String.init).joined(separator: ","))] uint8 output: \(error.message)")
        }
    }
}

/// The page image of an OCR invocation's `file` input.
enum OCRPage {
    static func decode(_ inputs: ModuleInputs, maxPixels: Int) throws(ModuleError) -> RGBImage {
        let bytes = try inputs.bytes("file")
        do { return try ImageDecoder.decode(bytes, name: "file", maxPixels: maxPixels) } catch { throw ModuleError(error, module: inputs.module, input: "file") }
    }
}

/// Lines of a crops tensor, RGB bytes [N, 48, W, 3], each limited to its own width.
enum CropRows {
    /// Line `index`'s first `width` columns as the model's input [1, 3, 48, paddedWidth]: BGR,
    /// `(v/255 − 0.5)/0.5`, zero beyond `width` (exactly ``TextReader/bgrTensor(_:paddedWidth:)``).
    static func normalised(_ bytes: [UInt8], shape: [Int], index: Int, width: Int, paddedWidth: Int) -> [Float] {
        let (height, stride) = (shape[1], shape[2])
        var out = [Float](repeating: 0, count: 3 * height * paddedWidth)
        let base = index * height * stride * 3
        for c in 0..<3 {
            for y in 0..<height {
                let from = base + y * stride * 3 + (2 - c), to = (c * height + y) * paddedWidth
                for x in 0..<min(width, stride, paddedWidth) { out[to + x] = (Float(bytes[from + x * 3]) / 255 - 0.5) / 0.5 }
            }
        }
        return out
    }

    /// Turns line `index`'s first `width` columns by 180° in place.
    static func rotate180(_ bytes: inout [UInt8], shape: [Int], index: Int, width: Int) {
        let (height, stride) = (shape[1], shape[2])
        let base = index * height * stride * 3
        var pixels: [UInt8] = []
        pixels.reserveCapacity(height * width * 3)
        for y in 0..<height { pixels += bytes[(base + y * stride * 3)..<(base + (y * stride + width) * 3)] }
        let count = height * width
        for y in 0..<height {
            for x in 0..<width {
                let from = (count - 1 - (y * width + x)) * 3, to = base + (y * stride + x) * 3
                for c in 0..<3 { bytes[to + c] = pixels[from + c] }
            }
        }
    }

    /// The bytes of a crops input [N, 48, W, 3] (empty when N or W is 0).
    static func read(_ inputs: ModuleInputs, _ name: String = "crops") throws(ModuleError) -> (bytes: [UInt8], shape: [Int]) {
        let tensor = try inputs.tensor(name)
        guard tensor.shape.count == 4, tensor.shape[1] == 48, tensor.shape[3] == 3 else {
            throw ModuleError(.wrongInput, module: inputs.module, input: name, "has shape \(tensor.shape), expected [N, 48, W, 3] RGB bytes")
        }
        do { return (try tensor.uint8s(), tensor.shape) } catch { throw ModuleError(.wrongInput, module: inputs.module, input: name, error.message) }
    }
}

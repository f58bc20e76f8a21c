import Catalog
import Inference
import Preprocessing
import S2M3Core
import TextReading

/// The `ocr-orient` driver: the classifier runs once per line on `x` [N,3,48,192]; lines it finds
/// upside down (``TextReader/isUpsideDown(_:)``) are turned by 180° within their width in `crops`
/// (RGB bytes [N,48,W,3]).
/// Answers `crops` and `widths` (the recogniser's inputs).
struct OCROrientModule: LoadedModule {
    let manifest: ModuleManifest
    let session: InferenceSession

    func warmUp() async throws(ModuleError) { try await runOnDummyInputs(sizes: ["N": 1, "W": 192]) }

    func run(_ inputs: TensorBundle) async throws(ModuleError) -> TensorBundle {
        let checked = try ModuleInputs(inputs, manifest: manifest)
        let (x, xShape) = try checked.floats("x")
        var (crops, shape) = try CropRows.read(checked)
        let widths = try checked.int64s("widths")
        try OCRLines.check(widths: widths, crops: shape, rows: xShape[0], module: manifest.id)
        let model = manifest.inputs[0].name, size = 3 * 48 * 192
        for index in 0..<xShape[0] {
            let probabilities: [Float]
            do {
                let input = try Tensor(float32: Array(x[(index * size)..<((index + 1) * size)]), shape: [1, 3, 48, 192])
                let output = try await session.run(inputs: [model: input])
                probabilities = output.values.first?.float32Values ?? []
            } catch {
                throw ModuleError(error, module: manifest.id)
            }
            if TextReader.isUpsideDown(probabilities[...]) {
                CropRows.rotate180(&crops, shape: shape, index: index, width: Int(widths[index]))
            }
        }
        var outputs = ModuleOutputs(module: manifest.id)
        try outputs.set("crops", tensor: try OCRBytes.tensor(crops, shape: shape, module: manifest.id))
        try outputs.set("widths", int64s: widths, shape: [widths.count])
        return outputs.bundle
    }
}

/// The `ocr-recognise` driver: each line runs alone at width max(320, its own) (as ``TextReader``);
/// each answer [1, S, C] is reduced to its best path (``CTCDecoder/bestPath(_:steps:classes:)``):
/// `classes` i64 [N, S] and `scores` [N, S], shorter lines padded with blank steps (class 0, score 1),
/// which CTC decoding skips. The full probabilities (S × 6625 floats, about 1.9 MB a line) would
/// overflow an MQTT packet at nine lines.
struct OCRRecogniseModule: LoadedModule {
    let manifest: ModuleManifest
    let session: InferenceSession

    func warmUp() async throws(ModuleError) { try await runOnDummyInputs(sizes: ["N": 1, "W": 320]) }

    func run(_ inputs: TensorBundle) async throws(ModuleError) -> TensorBundle {
        let checked = try ModuleInputs(inputs, manifest: manifest)
        let (crops, shape) = try CropRows.read(checked)
        let widths = try checked.int64s("widths")
        try OCRLines.check(widths: widths, crops: shape, rows: shape[0], module: manifest.id)
        let model = manifest.inputs[0].name
        var lines: [(classes: [Int64], scores: [Float])] = []
        for index in 0..<shape[0] {
            let width = Int(widths[index]), padded = TextReader.recognitionPaddedWidth(width)
            let line = try await ModuleError.catching(module: manifest.id) {
                let row = CropRows.normalised(crops, shape: shape, index: index, width: width, paddedWidth: padded)
                let output = try await session.run(inputs: [model: Tensor(float32: row, shape: [1, 3, 48, padded])])
                guard let answer = output.values.first, let values = answer.float32Values, answer.shape.count == 3 else {
                    throw ModuleError(.runFailed, module: manifest.id, "the model answered no [1,S,C] probabilities")
                }
                return CTCDecoder.bestPath(values[...], steps: answer.shape[1], classes: answer.shape[2])
            }
            lines.append(line)
        }
        let steps = lines.map(\.classes.count).max() ?? 0
        var classes: [Int64] = [], scores: [Float] = []
        classes.reserveCapacity(lines.count * steps)
        scores.reserveCapacity(lines.count * steps)
        for line in lines {
            classes += line.classes + [Int64](repeating: 0, count: steps - line.classes.count)
            scores += line.scores + [Float](repeating: 1, count: steps - line.scores.count)
        }
        var outputs = ModuleOutputs(module: manifest.id)
        try outputs.set("classes", int64s: classes, shape: [lines.count, steps])
        try outputs.set("scores", floats: scores, shape: [lines.count, steps])
        return outputs.bundle
    }
}

enum OCRLines {
    static func check(widths: [Int64], crops: [Int], rows: Int, module: String) throws(ModuleError) {
        guard widths.count == crops[0], rows == crops[0] else {
            throw ModuleError(.wrongInput, module: module, input: "widths", "\(widths.count) widths for \(crops[0]) crops and \(rows) rows")
        }
        for width in widths where width < 1 || Int(width) > crops[2] {
            throw ModuleError(.wrongInput, module: module, input: "widths", "width \(width) is outside 1…\(crops[2])")
        }
    }
}

/// The `ocr-detect` driver: the page arrives as RGB bytes `page` [1, H, W, 3] (``OCRPreprocessOperation``)
/// and is normalised here (BGR, `(v/255 − 0.5)/0.5`, [1, 3, H, W], ``TextReader/bgrTensor(_:paddedWidth:)``)
/// for one run; the probability map is answered as bytes `map` [1, 1, H, W] (``TextReader/quantised(_:)``),
/// a quarter of the floats' size, which DB post-processing reads back into the same boxes.
struct OCRDetectModule: LoadedModule {
    let manifest: ModuleManifest
    let session: InferenceSession

    /// A black page of the smallest size the detector sees, 736 × 736 (every page's shorter side is scaled to 736).
    func warmUp() async throws(ModuleError) { try await runOnDummyInputs(sizes: ["H": 736, "W": 736]) }

    func run(_ inputs: TensorBundle) async throws(ModuleError) -> TensorBundle {
        let checked = try ModuleInputs(inputs, manifest: manifest)
        let bytes = try checked.bytes("page"), shape = try checked.tensor("page").shape
        guard shape.count == 4, shape[0] == 1, shape[3] == 3, shape[1] > 0, shape[2] > 0, shape[1] * shape[2] * 3 == bytes.count else {
            throw ModuleError(.wrongInput, module: manifest.id, input: "page", "has shape \(shape), expected [1, H, W, 3] RGB bytes")
        }
        let (height, width) = (shape[1], shape[2])
        let map = try await ModuleError.catching(module: manifest.id) {
            let page = try RGBImage(width: width, height: height, pixels: bytes)
            let input = try TextReader.bgrTensor(page, paddedWidth: width)
            let output = try await session.run(inputs: [manifest.inputs[0].name: input])
            guard let values = output.values.first?.float32Values, values.count == width * height else {
                throw ModuleError(.runFailed, module: manifest.id, "the model answered no [1,1,\(height),\(width)] map")
            }
            return values
        }
        var outputs = ModuleOutputs(module: manifest.id)
        try outputs.set("map", tensor: try OCRBytes.tensor(TextReader.quantised(map), shape: [1, 1, height, width], module: manifest.id))
        return outputs.bundle
    }
}

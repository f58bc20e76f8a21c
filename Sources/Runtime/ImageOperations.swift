import Catalog
import Inference
import Preprocessing
import S2M3Core

/// `image-preprocess`: JPEG/PNG bytes → a vision model's input [1,3,H,W], as the catalog's settings
/// say (default: EfficientNet-Lite0's [1,3,224,224]).
struct ImagePreprocessOperation: BuiltinOperation {
    /// Works in RGB order; `bgr` swaps the first and last planes afterwards.
    let preprocess: ImagePreprocess
    var bgr = false
    /// Largest image decoded, pixels (``LimitsConfiguration/maxImagePixels``).
    var maxPixels = ImageDecoder.defaultMaxPixels

    func callAsFunction(_ inputs: ModuleInputs, _ outputs: inout ModuleOutputs) throws(ModuleError) {
        let bytes = try inputs.bytes("file")
        let tensor: Tensor
        do { tensor = try preprocess(encoded: bytes, name: "file", maxPixels: maxPixels) } catch { throw ModuleError(error, module: inputs.module, input: "file") }
        try outputs.set("image", tensor: try BundleTensor(bgr ? Self.swappingRedAndBlue(tensor) : tensor, module: inputs.module))
    }

    /// [1,3,H,W] float32 with planes 0 and 2 exchanged.
    static func swappingRedAndBlue(_ tensor: Tensor) -> Tensor {
        guard case .float32(var values) = tensor.values else { return tensor }
        let plane = values.count / 3
        for index in 0..<plane { values.swapAt(index, 2 * plane + index) }
        return try! Tensor(float32: values, shape: tensor.shape)
    }
}

extension ImagePreprocessSettings {
    /// The recipe for `ImagePreprocess`, in RGB order (mean and std are given in ``channelOrder``).
    var configuration: ImagePreprocess.Configuration {
        let resize: ImagePreprocess.Resize = switch (self.resize, crop) {
        case (.shorterSide, .some(let crop)): .shorterSideThenCenterCrop(side: width, width: crop.width, height: crop.height)
        default: .stretch(width: width, height: height)
        }
        let rgb = { (values: [Float]) in channelOrder == "bgr" ? values.reversed() : values }
        return ImagePreprocess.Configuration(
            resize: resize, filter: interpolation == "bicubic" ? .bicubic : .bilinear, mean: rgb(mean), std: rgb(std),
            cropRounding: cropRounding == "down" ? .down : .halfToEven)
    }
}

/// `top-k`: softmax over each row of logits, the K best classes with their names, best first.
struct TopKOperation: BuiltinOperation {
    let labels: [String]
    var k = 5

    func callAsFunction(_ inputs: ModuleInputs, _ outputs: inout ModuleOutputs) throws(ModuleError) {
        let (logits, shape) = try inputs.floats("logits")
        let classes = shape[1]
        guard classes == labels.count else {
            throw ModuleError(.wrongInput, module: inputs.module, input: "logits", "has \(classes) classes; the label list has \(labels.count)")
        }
        var names: [String] = [], scores: [Float] = []
        for row in 0..<shape[0] {
            let probabilities = TaskHeads.softmax(Array(logits[(row * classes)..<((row + 1) * classes)]))
            for best in TaskHeads.topK(probabilities, k: k) {
                names.append(labels[best.index])
                scores.append(best.score)
            }
        }
        try outputs.set("labels", texts: names)
        try outputs.set("scores", floats: scores, shape: [shape[0], min(k, classes)])
    }
}

/// Candidate texts ranked by score, best first (ties keep the given order): `labels` and `scores`.
enum RankedTexts {
    static func set(
        texts: [String], scores: [Float], into outputs: inout ModuleOutputs
    ) throws(ModuleError) {
        let order = TaskHeads.topK(scores, k: scores.count)
        try outputs.set("labels", texts: order.map { texts[$0.index] })
        try outputs.set("scores", floats: order.map(\.score), shape: [order.count])
    }

    /// Rows of a [M, D] matrix.
    static func rows(_ values: [Float], shape: [Int]) -> [[Float]] {
        let width = shape.count == 2 ? shape[1] : values.count
        guard width > 0 else { return [] }
        return stride(from: 0, to: values.count, by: width).map { Array(values[$0..<min(values.count, $0 + width)]) }
    }

    static func checkCount(_ texts: [String], rows: Int, module: String) throws(ModuleError) {
        guard texts.count == rows else {
            throw ModuleError(.wrongInput, module: module, input: "texts", "has \(texts.count) texts for \(rows) embeddings")
        }
        guard rows > 0 else { throw ModuleError(.badInput, module: module, input: "texts", "no candidate texts") }
    }
}

/// `cosine-match`: cosine of the query with each candidate; the candidate texts best first.
struct CosineMatchOperation: BuiltinOperation {
    func callAsFunction(_ inputs: ModuleInputs, _ outputs: inout ModuleOutputs) throws(ModuleError) {
        let (query, _) = try inputs.floats("query")
        let (candidates, shape) = try inputs.floats("candidates")
        let texts = try inputs.strings("texts")
        try RankedTexts.checkCount(texts, rows: shape[0], module: inputs.module)
        let scores = TaskHeads.cosineMatch(query: query, candidates: RankedTexts.rows(candidates, shape: shape))
        try RankedTexts.set(texts: texts, scores: scores, into: &outputs)
    }
}

/// `label-bridge`: the image's class probabilities mapped into MiniLM's space through the label
/// embeddings, cosine with each text's embedding; the texts best first (docs/models.md).
struct LabelBridgeOperation: BuiltinOperation {
    let labelEmbeddings: [[Float]]

    func callAsFunction(_ inputs: ModuleInputs, _ outputs: inout ModuleOutputs) throws(ModuleError) {
        let (logits, _) = try inputs.floats("logits")
        let (embeddings, shape) = try inputs.floats("embedding")
        let texts = try inputs.strings("texts")
        try RankedTexts.checkCount(texts, rows: shape[0], module: inputs.module)
        guard logits.count == labelEmbeddings.count else {
            throw ModuleError(.wrongInput, module: inputs.module, input: "logits", "has \(logits.count) classes; the bridge has \(labelEmbeddings.count)")
        }
        let image = TaskHeads.labelBridge(probabilities: TaskHeads.softmax(logits), labelEmbeddings: labelEmbeddings)
        let scores = TaskHeads.cosineMatch(query: image, candidates: RankedTexts.rows(embeddings, shape: shape))
        try RankedTexts.set(texts: texts, scores: scores, into: &outputs)
    }
}

/// `softmax-texts`: softmax over one row of logits with one column per candidate text (e.g. CLIP's
/// `logits_per_image`); the texts best first with their probabilities.
struct SoftmaxTextsOperation: BuiltinOperation {
    func callAsFunction(_ inputs: ModuleInputs, _ outputs: inout ModuleOutputs) throws(ModuleError) {
        let (logits, shape) = try inputs.floats("logits")
        let texts = try inputs.strings("texts")
        guard shape.count == 2, shape[0] == 1 else {
            throw ModuleError(.wrongInput, module: inputs.module, input: "logits", "must be one row [1, M], is \(shape)")
        }
        try RankedTexts.checkCount(texts, rows: shape[1], module: inputs.module)
        try RankedTexts.set(texts: texts, scores: TaskHeads.softmax(logits), into: &outputs)
    }
}

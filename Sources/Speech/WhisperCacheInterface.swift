import Inference

/// The names and shapes of the cached decoder's inputs and outputs, read from the session, so that
/// the loop follows the model file: every input `cross_X` is fed, after the first call, with the
/// first call's output `feature_X`.
struct WhisperCacheInterface {
    let outputs: [String]
    private let crossNames: [String]
    private let emptyInputs: [String: Tensor]

    init(_ decoder: InferenceSession) throws(InferenceError) {
        let declared = ["tokens", "features", "past"]
        guard declared.allSatisfy({ name in decoder.inputs.contains { $0.name == name } }),
              decoder.outputs.contains(where: { $0.name == "present" })
        else {
            throw InferenceError(
                .runFailed, "the decoder has no key/value cache (inputs `tokens`, `features`, `past`, `cross_*`; output `present`): run scripts/setup.sh",
                modelPath: decoder.modelPath)
        }
        crossNames = decoder.inputs.map(\.name).filter { $0.hasPrefix("cross_") }
        let outputNames = Set(decoder.outputs.map(\.name))
        guard crossNames.allSatisfy({ outputNames.contains(Self.featureName(of: $0)) }) else {
            throw InferenceError(.runFailed, "the decoder lacks a `feature_*` output for one of its `cross_*` inputs", modelPath: decoder.modelPath)
        }
        outputs = ["logits", "present"] + crossNames.map(Self.featureName)
        var empty: [String: Tensor] = [:]
        for spec in decoder.inputs where spec.name == "past" || spec.name == "features" || spec.name.hasPrefix("cross_") {
            guard spec.elementType == .float32, spec.shape.contains(where: { $0 == nil }) else {
                throw InferenceError(.runFailed, "input `\(spec.name)` is not a float tensor with a dynamic length", modelPath: decoder.modelPath)
            }
            empty[spec.name] = try Tensor(float32: [], shape: spec.shape.map { $0 ?? 0 })
        }
        emptyInputs = empty
    }

    static func featureName(of cross: String) -> String { "feature_" + cross.dropFirst("cross_".count) }

    /// The first call: the prompt, the features, empty caches.
    func firstInputs(prompt: [Int], features: Tensor) throws(InferenceError) -> [String: Tensor] {
        var inputs = emptyInputs
        inputs["tokens"] = try Tensor(int64: prompt.map(Int64.init), shape: [1, prompt.count])
        inputs["features"] = features
        return inputs
    }

    /// The next call: the one new token, the grown self-attention cache, and (after the first call)
    /// the features' keys and values in place of the features.
    func advance(_ inputs: inout [String: Tensor], token: Int, present: Tensor, output: [String: Tensor]) throws(InferenceError) {
        if inputs["features"]?.count != 0 {
            for name in crossNames {
                guard let projected = output[Self.featureName(of: name)] else {
                    throw InferenceError(.runFailed, "the decoder returned no `\(Self.featureName(of: name))`", tensorName: name)
                }
                inputs[name] = projected
            }
            inputs["features"] = emptyInputs["features"]
        }
        inputs["tokens"] = try Tensor(int64: [Int64(token)], shape: [1, 1])
        inputs["past"] = present
    }
}

import Catalog
import Inference
import S2M3Core
import Speech

/// The `whisper-greedy` driver: encoder `features` [1,1500,384] → generated token ids [1, T]
/// (without prompt and `<|endoftext|>`), by ``WhisperGreedyDecoder``.
struct WhisperGreedyModule: LoadedModule {
    let manifest: ModuleManifest
    let decoder: WhisperGreedyDecoder

    /// Silent features and at most 4 tokens: the first call projects the whole 1500-frame window.
    func warmUp() async throws(ModuleError) {
        var short = decoder
        short.maximumTokens = 4
        let features = try ModuleWarmUp.inputs(for: manifest, sizes: [:])
        let tensor = try ModuleInputs(features, manifest: manifest).tensor("features").engineTensor(module: manifest.id, input: "features")
        _ = try await ModuleError.catching(module: manifest.id) { try await short.decode(features: tensor) }
    }

    func run(_ inputs: TensorBundle) async throws(ModuleError) -> TensorBundle {
        let checked = try ModuleInputs(inputs, manifest: manifest)
        let features = try checked.tensor("features").engineTensor(module: manifest.id, input: "features")
        let ids = try await ModuleError.catching(module: manifest.id) { try await decoder.decode(features: features) }
        var outputs = ModuleOutputs(module: manifest.id)
        try outputs.set("tokens", int64s: ids.map(Int64.init), shape: [1, ids.count])
        return outputs.bundle
    }
}

/// The `vad-stream` driver: 16 kHz `samples` → the largest speech probability [1] over 512-sample
/// chunks, streamed as silero-vad's own wrapper does (64 samples of context, state carried over,
/// the last chunk zero-padded; docs/models.md).
struct VADStreamModule: LoadedModule {
    let manifest: ModuleManifest
    let session: InferenceSession
    var chunk = 512
    var context = 64
    var sampleRate: Int64 = 16_000

    /// One second of silence.
    func warmUp() async throws(ModuleError) { try await runOnDummyInputs(sizes: ["S": 16_000]) }

    func run(_ inputs: TensorBundle) async throws(ModuleError) -> TensorBundle {
        let checked = try ModuleInputs(inputs, manifest: manifest)
        let (samples, _) = try checked.floats("samples")
        let best = try await ModuleError.catching(module: manifest.id) {
            var best: Float = 0
            var state = try Tensor(float32: [Float](repeating: 0, count: 2 * 128), shape: [2, 1, 128])
            let rate = try Tensor(int64: [sampleRate], shape: [])
            var previous = [Float](repeating: 0, count: context)
            var start = 0
            while start < samples.count {
                var piece = Array(samples[start..<min(samples.count, start + chunk)])
                piece += [Float](repeating: 0, count: chunk - piece.count)
                let window = previous + piece
                let output = try await session.run(
                    inputs: ["input": Tensor(float32: window, shape: [1, context + chunk]), "state": state, "sr": rate],
                    outputs: ["output", "stateN"])
                guard let p = output["output"]?.float32Values?.first, let next = output["stateN"] else {
                    throw ModuleError(.runFailed, module: manifest.id, "the model answered no `output`/`stateN`")
                }
                best = max(best, p)
                state = next
                previous = Array(window.suffix(context))
                start += chunk
            }
            return best
        }
        var outputs = ModuleOutputs(module: manifest.id)
        try outputs.set("speech", floats: [best], shape: [1])
        return outputs.bundle
    }
}

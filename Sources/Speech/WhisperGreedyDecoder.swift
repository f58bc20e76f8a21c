import Inference
import Preprocessing

/// Greedy decoding with Whisper's decoder module alone: from encoder features to token ids.
///
/// The decoder graph carries key/value caches (docs/models.md): the first call takes the prompt and
/// the features and answers, besides the logits, the self-attention cache (`present`) and the
/// cross-attention keys and values of the features (`feature_*`); every later call takes only the one
/// new token, the cache so far (`past`) and those keys and values (`cross_*`), with empty features.
/// The next token is the plain argmax of the last position's logits, until `<|endoftext|>` or
/// ``maximumTokens``. Used by ``WhisperTranscriber`` and by the runtime's `whisper-greedy` driver.
public struct WhisperGreedyDecoder: Sendable {
    public let decoder: InferenceSession
    /// Token ids that start every transcript: `<|startoftranscript|>`, `<|notimestamps|>`.
    public let prompt: [Int]
    public let endOfText: Int
    /// At most this many generated tokens (the decoder's context is 448 including the prompt).
    public var maximumTokens = 224
    /// Decode as before the caches, the reference the cached loop must reproduce: every step runs the
    /// whole prefix and the features, with empty caches (for tests and the benchmark's baseline).
    public var wholePrefix = false

    public init(decoder: InferenceSession, prompt: [Int], endOfText: Int) {
        self.decoder = decoder
        self.prompt = prompt
        self.endOfText = endOfText
    }

    /// The prompt and end token of `tokens` (an English-only model: start, no timestamps).
    public init(decoder: InferenceSession, tokens: WhisperTokenTable) throws(PreprocessingError) {
        guard let start = tokens.id(ofSpecial: "<|startoftranscript|>"),
              let noTimestamps = tokens.id(ofSpecial: "<|notimestamps|>"),
              let end = tokens.id(ofSpecial: "<|endoftext|>")
        else {
            throw PreprocessingError(.invalidVocabulary, "the token table lacks Whisper's special tokens", input: "whisper-tokens.txt")
        }
        self.init(decoder: decoder, prompt: [start, noTimestamps], endOfText: end)
    }

    /// Generated ids (without the prompt and without `<|endoftext|>`) for encoder `features` [1,F,384].
    public func decode(features: Tensor) async throws -> [Int] {
        let interface = try WhisperCacheInterface(decoder)
        var inputs = try interface.firstInputs(prompt: prompt, features: features)
        var generated: [Int] = []
        while generated.count < maximumTokens {
            try Task.checkCancellation()
            if wholePrefix {
                inputs = try interface.firstInputs(prompt: prompt + generated, features: features)
            }
            let output = try await decoder.run(inputs: inputs, outputs: wholePrefix ? ["logits", "present"] : interface.outputs)
            guard let logits = output["logits"], let values = logits.float32Values, let vocabulary = logits.shape.last,
                  vocabulary > 0, values.count >= vocabulary, let present = output["present"]
            else {
                throw InferenceError(.runFailed, "the decoder returned no float `logits` or no `present`", modelPath: decoder.modelPath)
            }
            let next = Self.argmax(values[(values.count - vocabulary)...])
            if next == endOfText { break }
            generated.append(next)
            if !wholePrefix { try interface.advance(&inputs, token: next, present: present, output: output) }
        }
        return generated
    }

    static func argmax(_ values: ArraySlice<Float>) -> Int {
        var best = values.startIndex
        for i in values.indices where values[i] > values[best] { best = i }
        return best - values.startIndex
    }
}

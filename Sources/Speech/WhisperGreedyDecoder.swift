import Inference
import Preprocessing

/// Greedy decoding with Whisper's decoder module alone: from encoder features to token ids.
///
/// The decoder graph has no KV cache, so each step runs the whole prefix; the next token is the plain
/// argmax of the last position's logits, until `<|endoftext|>` or ``maximumTokens`` (docs/models.md).
/// Used by ``WhisperTranscriber`` and by the runtime's `whisper-greedy` driver.
public struct WhisperGreedyDecoder: Sendable {
    public let decoder: InferenceSession
    /// Token ids that start every transcript: `<|startoftranscript|>`, `<|notimestamps|>`.
    public let prompt: [Int]
    public let endOfText: Int
    /// At most this many generated tokens (the decoder's context is 448 including the prompt).
    public var maximumTokens = 224

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

    /// Generated ids (without the prompt and without `<|endoftext|>`) for encoder `features` [1,1500,384].
    public func decode(features: Tensor) async throws -> [Int] {
        var ids = prompt
        while ids.count - prompt.count < maximumTokens {
            try Task.checkCancellation()
            let input = try Tensor(int64: ids.map(Int64.init), shape: [1, ids.count])
            let output = try await decoder.run(inputs: ["tokens": input, "features": features], outputs: ["logits"])
            guard let logits = output["logits"], let values = logits.float32Values, let vocabulary = logits.shape.last,
                  values.count >= vocabulary
            else {
                throw InferenceError(.runFailed, "the decoder returned no float `logits`", modelPath: decoder.modelPath)
            }
            let next = Self.argmax(values[(values.count - vocabulary)...])
            if next == endOfText { break }
            ids.append(next)
        }
        return Array(ids.dropFirst(prompt.count))
    }

    static func argmax(_ values: ArraySlice<Float>) -> Int {
        var best = values.startIndex
        for i in values.indices where values[i] > values[best] { best = i }
        return best - values.startIndex
    }
}

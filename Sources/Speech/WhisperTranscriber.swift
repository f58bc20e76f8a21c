import Inference
import Preprocessing

/// Speech to text with Whisper split into its modules: the log-mel front end (built in), the
/// encoder and the decoder (ONNX), and greedy decoding with the model's own byte-level vocabulary.
///
/// The decoder graph carries key/value caches, so each step runs only the new token (docs/models.md). Decoding is
/// plain argmax until `<|endoftext|>`, which reproduces CTranslate2's greedy ids exactly.
public struct WhisperTranscriber: Sendable {
    public let encoder: InferenceSession
    public let decoder: InferenceSession
    public let tokens: WhisperTokenTable
    public let frontEnd: LogMelSpectrogram
    /// Token ids that start every transcript: `<|startoftranscript|>`, `<|notimestamps|>`.
    public let prompt: [Int]
    public let endOfText: Int
    /// At most this many generated tokens (the decoder's context is 448 including the prompt).
    public var maximumTokens = 224
    /// Decode without the caches (``WhisperGreedyDecoder/wholePrefix``): the benchmark's baseline.
    public var wholePrefix = false

    public init(encoder: InferenceSession, decoder: InferenceSession, tokens: WhisperTokenTable) throws(PreprocessingError) {
        guard let start = tokens.id(ofSpecial: "<|startoftranscript|>"),
              let noTimestamps = tokens.id(ofSpecial: "<|notimestamps|>"),
              let end = tokens.id(ofSpecial: "<|endoftext|>")
        else {
            throw PreprocessingError(.invalidVocabulary, "the token table lacks Whisper's special tokens", input: "whisper-tokens.txt")
        }
        self.encoder = encoder
        self.decoder = decoder
        self.tokens = tokens
        self.frontEnd = try LogMelSpectrogram(.whisper)
        self.prompt = [start, noTimestamps]
        self.endOfText = end
    }

    /// The result of one transcription.
    public struct Transcript: Sendable, Equatable {
        /// Generated ids without the prompt and without `<|endoftext|>`.
        public var tokenIDs: [Int]
        /// Their text, with Whisper's leading space removed.
        public var text: String
    }

    /// Encoder features ([1,1500,384]) of up to 30 s of audio at any sample rate.
    public func encode(_ audio: AudioSignal) async throws -> Tensor {
        let signal = try audio.resampled(to: frontEnd.configuration.sampleRate)
        let mel = try frontEnd(signal)
        let output = try await encoder.run(inputs: ["mel": mel], outputs: ["features"])
        guard let features = output["features"] else {
            throw InferenceError(.runFailed, "the encoder returned no `features`", modelPath: encoder.modelPath)
        }
        return features
    }

    /// Greedy decoding of encoder features into text.
    public func decode(features: Tensor) async throws -> Transcript {
        var greedy = WhisperGreedyDecoder(decoder: decoder, prompt: prompt, endOfText: endOfText)
        greedy.maximumTokens = maximumTokens
        greedy.wholePrefix = wholePrefix
        let generated = try await greedy.decode(features: features)
        return Transcript(tokenIDs: generated, text: Self.text(of: generated, tokens: tokens))
    }

    /// The text of generated ids, with Whisper's leading space removed.
    public static func text(of ids: [Int], tokens: WhisperTokenTable) -> String {
        var text = tokens.text(of: ids)
        if text.hasPrefix(" ") { text.removeFirst() }
        return text
    }

    /// Audio in, text out.
    public func transcribe(_ audio: AudioSignal) async throws -> Transcript {
        try await decode(features: encode(audio))
    }
}

import Inference
import Preprocessing
import S2M3Core
import Speech

/// `wordpiece-tokenize`: one text or a list → `input_ids`, `attention_mask`, `token_type_ids`
/// [N, T], padded with 0 (mask 0) to the longest.
struct WordPieceOperation: BuiltinOperation {
    let tokenizer: WordPieceTokenizer

    func callAsFunction(_ inputs: ModuleInputs, _ outputs: inout ModuleOutputs) throws(ModuleError) {
        let texts = try inputs.strings("text")
        guard !texts.isEmpty else { throw ModuleError(.badInput, module: inputs.module, input: "text", "no texts to tokenise") }
        let (ids, mask, types, length) = Self.batch(texts.map { tokenizer.encode($0) })
        try outputs.set("input_ids", int64s: ids, shape: [texts.count, length])
        try outputs.set("attention_mask", int64s: mask, shape: [texts.count, length])
        try outputs.set("token_type_ids", int64s: types, shape: [texts.count, length])
    }

    static func batch(_ encoded: [TokenizedText]) -> (ids: [Int64], mask: [Int64], types: [Int64], length: Int) {
        let length = encoded.map(\.ids.count).max() ?? 0
        var ids: [Int64] = [], mask: [Int64] = [], types: [Int64] = []
        for text in encoded {
            let pad = [Int64](repeating: 0, count: length - text.ids.count)
            ids += text.ids + pad
            mask += text.attentionMask + pad
            types += text.tokenTypeIDs + pad
        }
        return (ids, mask, types, length)
    }
}

/// `wav-decode`: WAV bytes → mono float samples at 16 kHz.
struct WAVDecodeOperation: BuiltinOperation {
    var sampleRate = 16_000
    /// Longest audio decoded, seconds (``LimitsConfiguration/maxAudioSeconds``).
    var maxSeconds = WAVDecoder.defaultMaxSeconds

    func callAsFunction(_ inputs: ModuleInputs, _ outputs: inout ModuleOutputs) throws(ModuleError) {
        let bytes = try inputs.bytes("file")
        let signal: AudioSignal
        do {
            signal = try WAVDecoder.decode(bytes, name: "file", maxSeconds: maxSeconds).resampled(to: sampleRate)
        } catch {
            throw ModuleError(error, module: inputs.module, input: "file")
        }
        guard !signal.samples.isEmpty else { throw ModuleError(.badInput, module: inputs.module, input: "file", "the WAV holds no samples") }
        try outputs.set("samples", floats: signal.samples, shape: [signal.samples.count])
    }
}

/// `log-mel`: 16 kHz samples → Whisper's log-mel spectrogram [1, 80, 3000].
struct LogMelOperation: BuiltinOperation {
    let frontEnd: LogMelSpectrogram

    func callAsFunction(_ inputs: ModuleInputs, _ outputs: inout ModuleOutputs) throws(ModuleError) {
        let (samples, _) = try inputs.floats("samples")
        try outputs.set("mel", tensor: try BundleTensor(frontEnd(samples: samples), module: inputs.module))
    }
}

/// `whisper-detokenize`: generated ids → text; empty when the VAD heard no speech.
struct WhisperDetokenizeOperation: BuiltinOperation {
    let tokens: WhisperTokenTable
    /// Speech probability below which the transcript is empty (silero's usual threshold).
    var speechThreshold: Float = 0.5

    func callAsFunction(_ inputs: ModuleInputs, _ outputs: inout ModuleOutputs) throws(ModuleError) {
        let ids = try inputs.int64s("tokens")
        let (speech, _) = try inputs.floats("speech")
        let heard = (speech.max() ?? 0) >= speechThreshold
        try outputs.set("text", text: heard ? WhisperTranscriber.text(of: ids.map { Int($0) }, tokens: tokens) : "")
    }
}

/// `combine`: one sentence from the image branch's best label and the audio branch's transcript.
struct CombineOperation: BuiltinOperation {
    func callAsFunction(_ inputs: ModuleInputs, _ outputs: inout ModuleOutputs) throws(ModuleError) {
        let labels = try inputs.strings("labels")
        let (scores, _) = try inputs.floats("scores")
        let text = try inputs.strings("text").joined(separator: " ")
        var summary = labels.first.map { label in
            "image: \(label)" + (scores.first.map { " (\(Int(($0 * 100).rounded())) %)" } ?? "")
        } ?? "image: nothing recognised"
        summary += text.isEmpty ? "; audio: no speech" : "; audio: \"\(text)\""
        try outputs.set("summary", text: summary)
    }
}

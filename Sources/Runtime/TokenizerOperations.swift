import Inference
import Preprocessing
import S2M3Core

/// `clip-tokenize` (CLIP's BPE from `vocab.json` + `merges.txt`) and `tokenizer-json` (a Hugging Face
/// `tokenizer.json`): one text or a list → `input_ids`, `attention_mask` (and `token_type_ids` when
/// the module declares it) [N, T]. CLIP's are padded to 77 with `<|endoftext|>`; `tokenizer-json`'s to
/// the longest text with the file's padding id (mask 0).
struct TokenizeOperation: BuiltinOperation {
    let encode: @Sendable (String) -> TokenizedText
    let pad: Int64
    let typeIDs: Bool
    /// Longest text tokenised, UTF-8 bytes: BPE merging is quadratic in a word's length, and a
    /// context of 77 tokens is a few hundred bytes.
    static let maxTextBytes = 16_384

    func callAsFunction(_ inputs: ModuleInputs, _ outputs: inout ModuleOutputs) throws(ModuleError) {
        let texts = try inputs.strings("text")
        guard !texts.isEmpty else { throw ModuleError(.badInput, module: inputs.module, input: "text", "no texts to tokenise") }
        if let long = texts.first(where: { $0.utf8.count > Self.maxTextBytes }) {
            throw ModuleError(.badInput, module: inputs.module, input: "text",
                              "a text of \(long.utf8.count) bytes; at most \(Self.maxTextBytes) are tokenised")
        }
        let encoded = texts.map(encode)
        let length = encoded.map(\.ids.count).max() ?? 0
        var ids: [Int64] = [], mask: [Int64] = []
        for text in encoded {
            let padding = length - text.ids.count
            ids += text.ids + [Int64](repeating: pad, count: padding)
            mask += text.attentionMask + [Int64](repeating: 0, count: padding)
        }
        try outputs.set("input_ids", int64s: ids, shape: [texts.count, length])
        try outputs.set("attention_mask", int64s: mask, shape: [texts.count, length])
        if typeIDs { try outputs.set("token_type_ids", int64s: [Int64](repeating: 0, count: ids.count), shape: [texts.count, length]) }
    }
}

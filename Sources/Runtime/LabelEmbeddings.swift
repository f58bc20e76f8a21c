import Catalog
import Foundation
import Inference
import Preprocessing

/// The MiniLM embeddings of the ImageNet label prompts `a photo of a <label>` that `label-bridge`
/// needs: made with the catalog's own `minilm-l6` and `wordpiece-tokenize` vocabulary at first use,
/// then cached in the models folder as `label-embeddings-<key>.f32` (little-endian float32,
/// classes × 384), the key being a digest of the model, vocabulary, labels and template.
enum LabelEmbeddings {
    static let template = "a photo of a "
    static let textModule = "minilm-l6"
    static let batchSize = 50

    static func load(for manifest: ModuleManifest, loader: ModuleLoader) async throws(ModuleError) -> [[Float]] {
        let labels = try ModuleAssets.lines("imagenet-labels.txt", of: manifest)
        let vocabulary = try ModuleAssets.path("bert-vocab.txt", of: manifest)
        guard let text = loader.catalog.module(textModule), let modelSHA = Optional(text.contentSHA256) else {
            throw ModuleError(.unknownModule, module: manifest.id, input: textModule, "label-bridge needs the catalog's '\(textModule)' module to embed its labels")
        }
        let vocabularySHA = SHA256.hex(ofFileAt: vocabulary) ?? ""
        let key = SHA256.hex(of: [modelSHA, vocabularySHA, template, labels.joined(separator: "\n")].joined(separator: "\n"))
        let path = (loader.modelsDirectory as NSString).appendingPathComponent("label-embeddings-\(key.prefix(16)).f32")
        if let cached = read(path, rows: labels.count) { return cached }

        let tokenizer: WordPieceTokenizer
        do { tokenizer = try WordPieceTokenizer(vocabularyFile: vocabulary) } catch {
            throw ModuleError(.missingFile, module: manifest.id, input: vocabulary, error.description)
        }
        let session = try await loader.session(for: text)
        var rows: [[Float]] = []
        for start in stride(from: 0, to: labels.count, by: batchSize) {
            let batch = labels[start..<min(labels.count, start + batchSize)].map { tokenizer.encode(template + $0) }
            let (ids, mask, types, length) = WordPieceOperation.batch(batch)
            let shape = [batch.count, length]
            do throws(InferenceError) {
                let output = try await session.run(inputs: [
                    "input_ids": Tensor(int64: ids, shape: shape), "attention_mask": Tensor(int64: mask, shape: shape),
                    "token_type_ids": Tensor(int64: types, shape: shape),
                ])
                guard let embedding = output.values.first, let values = embedding.float32Values, let width = embedding.shape.last else {
                    throw InferenceError(.runFailed, "no embedding", modelPath: text.filePath ?? "")
                }
                for row in 0..<batch.count { rows.append(Array(values[(row * width)..<((row + 1) * width)])) }
            } catch {
                throw ModuleError(.runFailed, module: manifest.id, input: textModule, "embedding the labels failed: \(error.description)")
            }
        }
        write(rows, to: path)
        return rows
    }

    private static func read(_ path: String, rows: Int) -> [[Float]]? {
        guard let data = FileManager.default.contents(atPath: path), rows > 0, data.count % (rows * 4) == 0, !data.isEmpty else { return nil }
        let width = data.count / (rows * 4)
        let values: [Float] = data.withUnsafeBytes { raw in
            (0..<(rows * width)).map { Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 4, as: UInt32.self))) }
        }
        return (0..<rows).map { Array(values[($0 * width)..<(($0 + 1) * width)]) }
    }

    /// Best effort (a read-only models folder just means computing again next time); written to a
    /// temporary name and renamed, so a concurrent reader never sees half a file.
    private static func write(_ rows: [[Float]], to path: String) {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(rows.count * (rows.first?.count ?? 0) * 4)
        for row in rows { for value in row { withUnsafeBytes(of: value.bitPattern.littleEndian) { bytes += $0 } } }
        let temporary = path + ".\(ProcessInfo.processInfo.processIdentifier).tmp"
        guard FileManager.default.createFile(atPath: temporary, contents: Data(bytes)) else { return }
        if rename(temporary, path) != 0 { try? FileManager.default.removeItem(atPath: temporary) }
    }
}

import Foundation
import Inference
import Preprocessing

/// Optional part of the benchmark: real converted models, when a models folder is given
/// (`--models <dir>` holding effnet-lite0-trunk.onnx, imagenet-head.onnx, imagenet-labels.txt,
/// minilm-l6.onnx, whisper-tiny-encoder.onnx). Each model is fed by the built-in pre-processing on
/// the engine fixtures; prints the answer (so a wrong pipeline shows) with latency and memory.
enum ModelBench {
    struct Row { let label: String; let ms: Double; let runs: Int; let residentMB: Double; let answer: String }

    static func run(models: String, fixtures: String) async throws -> [Row] {
        var rows: [Row] = []
        func path(_ name: String) -> String? {
            FileManager.default.fileExists(atPath: models + "/" + name) ? models + "/" + name : nil
        }
        func median(_ runs: Int, _ body: () async throws -> Void) async rethrows -> Double {
            try await body()
            var samples: [Double] = []
            for _ in 0..<runs {
                let start = ContinuousClock.now
                try await body()
                let d = ContinuousClock.now - start
                samples.append(Double(d.components.seconds) * 1e3 + Double(d.components.attoseconds) / 1e15)
            }
            return samples.sorted()[runs / 2]
        }

        if let trunkPath = path("effnet-lite0-trunk.onnx"), let headPath = path("imagenet-head.onnx") {
            let image = try ImagePreprocess()(encoded: [UInt8](try Data(contentsOf: URL(fileURLWithPath: fixtures + "chelsea.png"))))
            let (trunk, trunkBytes) = try await InferenceSession.loadMeasured(modelPath: trunkPath, warmUp: ["image": image])
            let (head, headBytes) = try await InferenceSession.loadMeasured(modelPath: headPath)
            var embedding = try await trunk.run(inputs: ["image": image])["embedding"]!
            let logits = try await head.run(inputs: ["embedding": embedding])["logits"]!.float32Values!
            let top = logits.indices.max { logits[$0] < logits[$1] }!
            let labels = (try? String(contentsOfFile: models + "/imagenet-labels.txt", encoding: .utf8))?.split(separator: "\n") ?? []
            let peak = logits[top], total = logits.reduce(0) { $0 + exp(Double($1 - peak)) }
            let answer = "cat photo → #\(top) \(top < labels.count ? String(labels[top]) : "") p=\(String(format: "%.2f", 1 / total))"
            let ms = try await median(20) { embedding = try await trunk.run(inputs: ["image": image])["embedding"]! }
            rows.append(Row(label: "effnet-lite0-trunk [1,3,224,224] → [1,1280]", ms: ms, runs: 20, residentMB: Double(trunkBytes) / 1e6, answer: answer))
            let headMs = try await median(50) { _ = try await head.run(inputs: ["embedding": embedding]) }
            rows.append(Row(label: "imagenet-head [1,1280] → [1,1000]", ms: headMs, runs: 50, residentMB: Double(headBytes) / 1e6, answer: ""))
        }
        if let minilmPath = path("minilm-l6.onnx") {
            let tokenizer = try WordPieceTokenizer(vocabularyFile: fixtures + "vocab.txt")
            let inputs = tokenizer.encode("Turn on the kitchen lights and play some music.").tensors
            let (session, bytes) = try await InferenceSession.loadMeasured(modelPath: minilmPath, warmUp: inputs)
            let ms = try await median(30) { _ = try await session.run(inputs: inputs) }
            rows.append(Row(label: "minilm-l6, 12 tokens → [1,384]", ms: ms, runs: 30, residentMB: Double(bytes) / 1e6, answer: ""))
        }
        if let encoderPath = path("whisper-tiny-encoder.onnx") {
            let signal = try WAVDecoder.decode([UInt8](try Data(contentsOf: URL(fileURLWithPath: fixtures + "speech-22k.wav"))))
            let mel = try LogMelSpectrogram()(signal)
            let (session, bytes) = try await InferenceSession.loadMeasured(modelPath: encoderPath, warmUp: ["mel": mel])
            let ms = try await median(5) { _ = try await session.run(inputs: ["mel": mel]) }
            rows.append(Row(label: "whisper-tiny-encoder [1,80,3000] → [1,1500,384]", ms: ms, runs: 5, residentMB: Double(bytes) / 1e6, answer: ""))
        }
        return rows
    }

    static func table(_ rows: [Row]) -> String {
        var text = "| model (1 intra-op thread) | median ms | runs | resident MB added (load + 1 run) | answer |\n|---|---:|---:|---:|---|\n"
        for r in rows {
            text += "| \(r.label) | \(String(format: "%.2f", r.ms)) | \(r.runs) | \(String(format: "%.1f", r.residentMB)) | \(r.answer) |\n"
        }
        return text
    }
}

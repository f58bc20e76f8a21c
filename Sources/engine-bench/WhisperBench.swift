import Foundation
import Inference
import Preprocessing
import Speech

/// Whisper decoding with the decoder's key/value caches against the baseline that re-runs the whole
/// prefix and the features at every step (``WhisperGreedyDecoder/wholePrefix``, how it ran before the
/// caches), on the set-up's speech fixtures, in one run, the two interleaved run by run.
enum WhisperBench {
    struct Row { let clip: String; let tokens: Int; let baselineMs: Double; let cachedMs: Double; let sameIDs: Bool; let runs: Int }

    static func run(models: String, runs: Int = 7) async throws -> [Row] {
        let fixtures = (models as NSString).deletingLastPathComponent + "/fixtures/"
        let pool = InferenceThreadPool(threadCount: 1)
        guard let text = try? String(contentsOfFile: models + "/whisper-tokens.txt", encoding: .utf8),
              FileManager.default.fileExists(atPath: models + "/whisper-tiny-decoder.onnx")
        else { return [] }
        var cached = try WhisperTranscriber(
            encoder: await InferenceSession.load(modelPath: models + "/whisper-tiny-encoder.onnx", threadPool: pool),
            decoder: await InferenceSession.load(modelPath: models + "/whisper-tiny-decoder.onnx", threadPool: pool),
            tokens: WhisperTokenTable(text: text))
        var baseline = cached
        cached.wholePrefix = false
        baseline.wholePrefix = true
        var rows: [Row] = []
        for clip in ["sentence-inspection.wav", "cmd-open-gate.wav"] {
            guard let data = FileManager.default.contents(atPath: fixtures + clip) else { continue }
            let audio = try WAVDecoder.decode([UInt8](data), name: clip)
            let a = try await baseline.transcribe(audio), b = try await cached.transcribe(audio)  // warm-up
            var before: [Double] = [], after: [Double] = []
            for _ in 0..<runs {
                before.append(try await ms { _ = try await baseline.transcribe(audio) })
                after.append(try await ms { _ = try await cached.transcribe(audio) })
            }
            rows.append(Row(clip: clip, tokens: b.tokenIDs.count, baselineMs: median(before), cachedMs: median(after),
                            sameIDs: a.tokenIDs == b.tokenIDs, runs: runs))
        }
        return rows
    }

    static func table(_ rows: [Row]) -> String {
        var text = "| clip (encoder + greedy decoder, 1 intra-op thread) | tokens | whole prefix per step (before) median ms | with caches median ms | speed-up | same ids | runs each |\n|---|---:|---:|---:|---:|---|---:|\n"
        for r in rows {
            text += "| \(r.clip) | \(r.tokens) | \(String(format: "%.1f", r.baselineMs)) | \(String(format: "%.1f", r.cachedMs)) | "
                + "\(String(format: "%.2f", r.baselineMs / r.cachedMs))× | \(r.sameIDs ? "yes" : "NO") | \(r.runs) |\n"
        }
        return text
    }

    private static func ms(_ body: () async throws -> Void) async rethrows -> Double {
        let start = ContinuousClock.now
        try await body()
        let d = ContinuousClock.now - start
        return Double(d.components.seconds) * 1e3 + Double(d.components.attoseconds) / 1e15
    }

    private static func median(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }
}

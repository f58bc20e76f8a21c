import Foundation
import Inference
import Preprocessing

/// Times the engine and the built-in pre-processing on this machine and prints a Markdown table
/// (medians over repeated runs, all measured in this one run). Not a test.
///
///     swift run -c release engine-bench [--models <dir of converted .onnx>] [--write docs/benchmarks.md]
///
/// Inputs: the fixtures of scripts/setup.d/15-engine-fixtures.sh and the wheel's test models in
/// `${S2M3_CACHE:-.cache}`.
@main
struct EngineBench {
    static func main() async throws {
        let cache = ProcessInfo.processInfo.environment["S2M3_CACHE"].flatMap { $0.isEmpty ? nil : $0 } ?? ".cache"
        let fixtures = cache + "/fixtures/engine/"
        func bytes(_ name: String) throws -> [UInt8] {
            guard let data = FileManager.default.contents(atPath: fixtures + name) else {
                throw BenchError("missing \(fixtures + name): run scripts/setup.sh")
            }
            return [UInt8](data)
        }
        var rows: [(String, Double, Int)] = []
        func time(_ label: String, runs: Int, _ body: () throws -> Void) rethrows {
            var samples: [Double] = []
            try body()  // warm-up
            for _ in 0..<runs {
                let start = ContinuousClock.now
                try body()
                let elapsed = ContinuousClock.now - start
                samples.append(Double(elapsed.components.attoseconds) / 1e15 + Double(elapsed.components.seconds) * 1e3)
            }
            samples.sort()
            rows.append((label, samples[samples.count / 2], runs))
        }

        // Image: the 451x300 cat photo (PNG) and a 640x427 JPEG, to the EfficientNet-Lite0 tensor.
        let cat = try bytes("chelsea.png"), rocket = try bytes("rocket.jpg")
        let preprocess = try ImagePreprocess(.efficientNetLite0)
        try time("image: decode PNG 451x300", runs: 30) { _ = try ImageDecoder.decode(cat) }
        try time("image: decode + resize + normalise (EfficientNet recipe), PNG 451x300 → [1,3,224,224]", runs: 30) { _ = try preprocess(encoded: cat) }
        try time("image: decode + resize + normalise (EfficientNet recipe), JPEG 640x427 → [1,3,224,224]", runs: 30) { _ = try preprocess(encoded: rocket) }
        let centerCrop = try ImagePreprocess(.imageNetCenterCrop)
        try time("image: decode + resize 256 + centre crop 224 + normalise, PNG 451x300", runs: 30) { _ = try centerCrop(encoded: cat) }

        // Audio: 30 s of speech-like signal (the espeak clip repeated), Whisper log-mel.
        let speechBytes = try bytes("speech-22k.wav")
        let speech16k = try WAVDecoder.decode(speechBytes).resampled(to: 16_000)
        var thirty = [Float]()
        while thirty.count < 480_000 { thirty += speech16k.samples }
        thirty = Array(thirty.prefix(480_000))
        let logMel = try LogMelSpectrogram()
        try time("audio: WAV decode + resample 22.05→16 kHz, 3.3 s clip", runs: 20) {
            _ = try WAVDecoder.decode(speechBytes).resampled(to: 16_000)
        }
        time("audio: Whisper log-mel of 30 s (mixed-radix FFT) → [1,80,3000]", runs: 15) { _ = logMel(samples: thirty) }
        time("audio: same spectrum with a direct O(N²) DFT (baseline)", runs: 3) { _ = DirectDFTLogMel.powerFrames(thirty) }

        // Text.
        let tokenizer = try WordPieceTokenizer(vocabularyFile: fixtures + "vocab.txt")
        time("text: WordPiece encode, 10-word sentence", runs: 200) {
            _ = tokenizer.encode("Turn on the kitchen lights and play some music, please.")
        }

        // Engine: a tiny model, so the figure is the per-run overhead (validation, copies, thread hop).
        let session = try await InferenceSession.load(modelPath: cache + "/onnxruntime-datasets/sigmoid.onnx")
        let x = try Tensor(float32: (0..<60).map { Float($0) / 10 }, shape: [3, 4, 5])
        var runTimes: [Double] = []
        for i in 0..<201 {
            let start = ContinuousClock.now
            _ = try await session.run(inputs: ["x": x])
            let elapsed = ContinuousClock.now - start
            if i > 0 { runTimes.append(Double(elapsed.components.attoseconds) / 1e15) }
        }
        runTimes.sort()
        rows.append(("engine: InferenceSession.run, sigmoid.onnx [3,4,5] (await incl. thread hop)", runTimes[runTimes.count / 2], runTimes.count))

        let fft = rows.first { $0.0.contains("mixed-radix") }!.1, dft = rows.first { $0.0.contains("O(N²)") }!.1
        var table = "| operation | median ms | runs |\n|---|---:|---:|\n"
        for (label, ms, runs) in rows { table += "| \(label) | \(String(format: "%.3f", ms)) | \(runs) |\n" }
        table += "\nDirect DFT spectrum alone vs the whole FFT log-mel: \(String(format: "%.1f", dft / fft))× slower.\n"
        let arguments = CommandLine.arguments
        if let index = arguments.firstIndex(of: "--models"), index + 1 < arguments.count {
            let rows = try await ModelBench.run(models: arguments[index + 1], fixtures: fixtures)
            table += "\nConverted models (`--models \(arguments[index + 1])`), inputs from the built-in pre-processing:\n\n"
            table += ModelBench.table(rows)
            let whisper = try await WhisperBench.run(models: arguments[index + 1])
            if !whisper.isEmpty {
                table += "\nWhisper transcription, the decoder's key/value caches against re-running the whole prefix and the features at every step (`WhisperGreedyDecoder.wholePrefix`, the decoding before the caches), interleaved run by run:\n\n"
                table += WhisperBench.table(whisper)
            }
        }
        print(table)

        if let index = arguments.firstIndex(of: "--write"), index + 1 < arguments.count {
            try writeSection(table, to: arguments[index + 1])
        }
    }

    /// Replaces (or appends) the "Engine and pre-processing" section of a Markdown file.
    static func writeSection(_ table: String, to path: String) throws {
        let heading = "## Engine and pre-processing"
        let section = """
            \(heading)

            Measured by `swift run -c release engine-bench [--models .cache/models] --write docs/benchmarks.md` (after `scripts/setup.sh`),
            on \(ProcessInfo.processInfo.activeProcessorCount) cores (load average \(loadAverage()) while measuring), one thread per
            operation, ONNX Runtime \(InferenceSession.runtimeVersion), \(Date().formatted(.iso8601.year().month().day())).

            \(table)
            """
        var text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? "# Benchmarks\n"
        if let start = text.range(of: heading) {
            let rest = text[start.upperBound...]
            let end = rest.range(of: "\n## ")?.lowerBound ?? text.endIndex
            text.replaceSubrange(start.lowerBound..<end, with: section)
        } else {
            text += "\n" + section
        }
        try text.write(toFile: path, atomically: true, encoding: .utf8)
    }
}

/// The 1-minute load average, as text (other work on the machine skews the figures).
func loadAverage() -> String {
    var loads = [Double](repeating: 0, count: 3)
    return getloadavg(&loads, 3) > 0 ? String(format: "%.1f", loads[0]) : "unknown"
}

struct BenchError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// The baseline: Whisper's framing and window with a direct DFT (precomputed cos/sin table), to show
/// what the FFT saves. Computes only the power spectra.
enum DirectDFTLogMel {
    static func powerFrames(_ samples: [Float]) -> Double {
        let n = 400, bins = 201, hop = 160, frames = 3000
        let cosTable = (0..<(bins * n)).map { Float(cos(2 * Double.pi * Double(($0 / n) * ($0 % n) % n) / Double(n))) }
        let sinTable = (0..<(bins * n)).map { Float(sin(2 * Double.pi * Double(($0 / n) * ($0 % n) % n) / Double(n))) }
        let window = (0..<n).map { Float(0.5 - 0.5 * cos(2 * Double.pi * Double($0) / Double(n))) }
        var padded = [Float](repeating: 0, count: frames * hop + n)
        for i in 0..<min(samples.count, frames * hop) { padded[n / 2 + i] = samples[i] }
        var checksum = 0.0
        var frame = [Float](repeating: 0, count: n)
        for t in 0..<frames {
            for i in 0..<n { frame[i] = padded[t * hop + i] * window[i] }
            for k in 0..<bins {
                var re: Float = 0, im: Float = 0
                for i in 0..<n {
                    re += frame[i] * cosTable[k * n + i]
                    im += frame[i] * sinTable[k * n + i]
                }
                checksum += Double(re * re + im * im)
            }
        }
        return checksum
    }
}

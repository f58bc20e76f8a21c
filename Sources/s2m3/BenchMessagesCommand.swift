import ArgumentParser
import Foundation
import S2M3Core

/// `s2m3 bench messages`: what our own handling of the messages on every request's path costs,
/// against Foundation's coders on the same bytes, interleaved batch by batch in one run (medians).
/// The rows are the hand-written coders of issue 14 (docs/benchmarks.md, "Where one request's
/// time goes"); build with `swift build -c release` first.
struct BenchMessagesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "messages",
        abstract: "Encoding and decoding of the messages on every request's path: ours vs Foundation's coders."
    )

    @Option(help: "Batches per coder (the median batch is reported).")
    var batches = 15

    @Option(help: "Calls per batch.")
    var calls = 2_000

    func run() throws {
        let result = Self.classifyResult()
        let invoke = try InvokeRequest(
            requestID: "req-000123", task: "classify-image", node: "logits", module: "imagenet-head", epoch: 4, replyTo: "agg-1",
            deadlineMs: 1_800_000_000_000
        ).bundle(inputs: TensorBundle(tensors: ["features": BundleTensor(floats: [Float](repeating: 0.5, count: 1_280), shape: [1, 1_280])]))
        let payload = invoke.encoded()
        let headerLength = Int(payload.prefix(8).reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) })
        let header = Data(payload[8..<(8 + headerLength)])
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // classify-image's first invocation chains the rest of its graph on the same device.
        let chain: [InvokeRequest.Step] = [
            .init(node: "trunk", module: "effnet-lite0-trunk", attempt: 1, returnsOutputs: false, arguments: [.init(value: "pixels", tensor: "pixel_values")]),
            .init(node: "logits", module: "imagenet-head", attempt: 1, returnsOutputs: false, arguments: [.init(value: "trunk", tensor: "features")]),
            .init(node: "top", module: "top-k", attempt: 1, returnsOutputs: true, arguments: [.init(value: "logits", tensor: "logits")]),
        ]
        let chainText = InvokeRequest.chainText(chain), chainData = Data(chainText.utf8)

        let rows: [(String, String, () throws -> Void, () throws -> Void)] = [
            ("a classify-image result → JSON (\(try result.jsonBytes().count) bytes)", "`JSONEncoder`",
             { _ = try encoder.encode(ResultEnvelope(result: result)) }, { _ = try result.jsonBytes() }),
            ("an invocation's bundle header → tensors (\(headerLength) bytes)", "`JSONDecoder`, header only",
             { _ = try JSONDecoder().decode(HeaderBaseline.self, from: header) }, { _ = try TensorBundle(decoding: payload) }),
            ("classify-image's chain of 3 steps → JSON (\(chainText.utf8.count) bytes)", "`JSONEncoder`",
             { _ = try JSONEncoder().encode(chain) }, { _ = InvokeRequest.chainText(chain) }),
            ("JSON → that chain", "`JSONDecoder`",
             { _ = try JSONDecoder().decode([InvokeRequest.Step].self, from: chainData) }, { _ = try InvokeRequest.chain(from: chainText) }),
        ]
        print("<!-- s2m3 bench messages --batches \(batches) --calls \(calls) -->")
        print("| message | Foundation | Foundation µs | ours µs | ours / Foundation |")
        print("|---|---|---:|---:|---:|")
        for (label, baselineName, baseline, ours) in rows {
            var before: [Double] = [], after: [Double] = []
            for _ in 0..<batches {
                before.append(try time(baseline))
                after.append(try time(ours))
            }
            let (b, a) = (Self.median(before), Self.median(after))
            print("| \(label) | \(baselineName) | \(String(format: "%.1f", b)) | \(String(format: "%.1f", a)) | \(String(format: "%.2f", a / b))× |")
        }
        print("\nEncoding that invocation's bundle (header and 5 KB of data): \(String(format: "%.1f", Self.median(try (0..<batches).map { _ in try time { _ = invoke.encoded() } }))) µs.")
    }

    /// Microseconds per call, over one batch.
    private func time(_ body: () throws -> Void) throws -> Double {
        let start = ContinuousClock.now
        for _ in 0..<calls { try body() }
        let elapsed = ContinuousClock.now - start
        return (Double(elapsed.components.seconds) * 1e6 + Double(elapsed.components.attoseconds) * 1e-12) / Double(calls)
    }

    static func median(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }

    /// A result as classify-image answers it: five labels, four timeline entries.
    static func classifyResult() -> TaskResult {
        let labels = ["Egyptian cat", "tiger cat", "tabby", "lynx", "Persian cat"].enumerated().map {
            TaskOutput.ScoredLabel(label: $0.element, score: 0.8133613467216492 / Double($0.offset + 1))
        }
        let timeline = [("pixels", "image-preprocess"), ("trunk", "effnet-lite0-trunk"), ("logits", "imagenet-head"), ("top", "top-k")].map {
            TaskTimelineEntry(node: $0.0, module: $0.1, device: "box-1", queuedMs: 0.12, computeMs: 6.93, transferMs: 0.31, startMs: 1.5, endMs: 8.43)
        }
        return TaskResult(
            requestID: "req-000123", task: "classify-image", epoch: 4, outputs: ["top": .labels(labels)], timeline: timeline, totalMs: 29.4,
            aggregator: "agg-1", completedAtMs: 1_796_000_000_000)
    }
}

/// The result with its schema, as `ControlMessage` encodes it through `JSONEncoder`.
private struct ResultEnvelope: Encodable {
    let result: TaskResult
    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: Key.self)
        try container.encode(TaskResult.schema, forKey: Key(stringValue: "schema"))
        try result.encode(to: encoder)
    }
}

/// The bundle header as `JSONDecoder` read it before the hand-written reader (e0dd461).
private struct HeaderBaseline: Decodable {
    struct Entry: Decodable {
        let dtype: String
        let shape: [Int]
        let offsets: [Int]
        enum CodingKeys: String, CodingKey { case dtype, shape, offsets = "data_offsets" }
    }

    var metadata: [String: String] = [:]
    var entries: [(String, Entry)] = []

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: Key.self)
        for key in container.allKeys {
            if key.stringValue == "__metadata__" {
                metadata = try container.decode([String: String].self, forKey: key)
            } else {
                entries.append((key.stringValue, try container.decode(Entry.self, forKey: key)))
            }
        }
    }
}

private struct Key: CodingKey {
    var stringValue: String
    var intValue: Int? { nil }
    init(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
}

import Foundation
import S2M3Core
import TestSupport

/// Seed inputs: the set-up's fixtures, the examples of topics.md and docs, and the inputs that
/// crashed services in issue 10.
enum FuzzSeeds {
    struct MissingFixture: Error, CustomStringConvertible {
        let path: String
        var description: String { "fixture \(path) is missing; run scripts/setup.sh (or set S2M3_CACHE)" }
    }

    static func fixture(_ name: String) throws -> [UInt8] {
        let url = TestPaths.cache.appendingPathComponent("fixtures").appendingPathComponent(name)
        guard let data = FileManager.default.contents(atPath: url.path) else { throw MissingFixture(path: url.path) }
        return [UInt8](data)
    }

    static func repositoryFile(_ path: String) throws -> [UInt8] {
        let url = TestPaths.repository.appendingPathComponent(path)
        guard let data = FileManager.default.contents(atPath: url.path) else { throw MissingFixture(path: url.path) }
        return [UInt8](data)
    }

    static func jpegs() throws -> [[UInt8]] { [try fixture("chelsea.jpg"), try fixture("coffee.jpg")] }
    static func pngs() throws -> [[UInt8]] {
        [try fixture("ocr-inspection.png"), try fixture("camera-224.png"), png(width: 16_000, height: 16_000), png(width: 0, height: 1)]
    }
    static func wavs() throws -> [[UInt8]] { [try fixture("cmd-open-gate.wav"), wavRateFFFFFFFF] }

    static var wavRateFFFFFFFF: [UInt8] { HostileMedia.wavRateFFFFFFFF }
    static func png(width: Int, height: Int) -> [UInt8] { HostileMedia.png(width: width, height: height) }

    /// The JSON examples of topics.md whose `schema` is `schema`.
    static func topicsExamples(schema: String) throws -> [[UInt8]] {
        let document = String(decoding: try repositoryFile("topics.md"), as: UTF8.self)
        var out: [[UInt8]] = [], current: [Substring]?
        for line in document.split(separator: "\n", omittingEmptySubsequences: false) {
            if current == nil, line == "```json" {
                current = []
            } else if let block = current, line == "```" {
                let text = block.joined(separator: "\n")
                if text.contains("\"schema\": \"\(schema)\"") || text.contains("\"schema\":\"\(schema)\"") { out.append(Array(text.utf8)) }
                current = nil
            } else {
                current?.append(line)
            }
        }
        return out
    }

    /// Bundles as the services send them: a request with text, texts, media and a tensor, an
    /// invocation, a partial result, and the 10,000-tensor request (as 500, for speed).
    static func bundles() throws -> [[UInt8]] {
        var request = TensorBundle(metadata: [BundleMetadataKey.requestID: "req-1", BundleMetadataKey.timeoutMs: "5000"])
        try request.setText("a cat", named: "text")
        try request.setTexts(["a cat", "a dog"], named: "labels")
        try request.setMedia(try fixture("cmd-open-gate.wav").prefix(600).map { $0 }, contentType: MediaType.wav, named: "audio")
        try request.set(BundleTensor(floats: [1, -2.5, .greatestFiniteMagnitude, 0], shape: [2, 2]), named: "features")
        try request.set(BundleTensor(int64s: [Int64.max, Int64.min], shape: [2]), named: "ids")
        let invoke = try InvokeRequest(
            requestID: "req-1", task: "classify-image", node: "pixels", module: "image-preprocess", epoch: 3,
            replyTo: "agg-1", deadlineMs: 1_765_000_000_000
        ).bundle(inputs: try TensorBundle(tensors: ["image": try BundleTensor(uint8s: Array(try fixture("chelsea.jpg").prefix(300)))]))
        let partial = try PartialResult(
            requestID: "req-1", task: "classify-image", node: "pixels", module: "image-preprocess", device: "box-1", epoch: 3,
            status: .ok, queueWaitMs: 0.5, computeMs: 12.25, receivedAtMs: 1_765_000_000_000, startedAtMs: 1_765_000_000_001,
            finishedAtMs: 1_765_000_000_013
        ).bundle(outputs: try TensorBundle(tensors: ["pixels": try BundleTensor(floats: [0.5, 0.25, 1], shape: [1, 3])]))
        var many = TensorBundle()
        for index in 0..<500 { try many.set(BundleTensor(uint8s: [1], shape: [1]), named: "t\(index)") }
        return [request.encoded(), invoke.encoded(), partial.encoded(), many.encoded()]
    }
}

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

    /// Issue 10: a 48-byte WAV whose header says 0xFFFFFFFF samples per second.
    static let wavRateFFFFFFFF: [UInt8] = Array("RIFF(\0\0\0WAVEfmt \u{10}\0\0\0\u{1}\0\u{1}\0".utf8)
        + [0xFF, 0xFF, 0xFF, 0xFF, 0xFE, 0xFF, 0xFF, 0xFF, 0x02, 0x00, 0x10, 0x00] + Array("data".utf8) + [0x04, 0, 0, 0, 0x10, 0, 0x10, 0]

    /// Issue 10: a PNG whose header (with correct CRCs) claims `width` × `height` over an empty
    /// zlib stream.
    static func png(width: Int, height: Int) -> [UInt8] {
        func be32(_ v: Int) -> [UInt8] { [24, 16, 8, 0].map { UInt8(truncatingIfNeeded: v >> $0) } }
        func chunk(_ type: String, _ data: [UInt8]) -> [UInt8] {
            let body = Array(type.utf8) + data
            return be32(data.count) + body + be32(Int(crc32(body)))
        }
        return [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
            + chunk("IHDR", be32(width) + be32(height) + [8, 2, 0, 0, 0])
            + chunk("IDAT", [0x78, 0x9C, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01])
            + chunk("IEND", [])
    }

    static func crc32(_ bytes: [UInt8]) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in bytes {
            crc ^= UInt32(byte)
            for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 }
        }
        return ~crc
    }

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

import Foundation
import TestSupport
import Testing

@testable import S2M3Core

/// Keeps topics.md true: every JSON example decodes with its Swift type, every schema has an
/// example, the topic table's QoS and retain columns equal `Topics.delivery`, and every error code
/// and bundle metadata key is documented.
@Suite("Messages: topics.md")
struct MessagesTopicsDocumentTests {
    static func document() throws -> String {
        let root = TestPaths.repository
        return try String(contentsOf: root.appendingPathComponent("topics.md"), encoding: .utf8)
    }

    /// The contents of every fenced block whose info string is `lang`.
    static func blocks(_ lang: String, in document: String) -> [String] {
        var out: [String] = [], current: [Substring]?
        for line in document.split(separator: "\n", omittingEmptySubsequences: false) {
            if current == nil, line == "```\(lang)" {
                current = []
            } else if current != nil, line == "```" {
                out.append(current!.joined(separator: "\n"))
                current = nil
            } else {
                current?.append(line)
            }
        }
        return out
    }

    /// Decoders of the JSON control messages, by schema id.
    static let controlDecoders: [String: @Sendable (Data) throws -> Void] = [
        DeviceState.schema: { _ = try DeviceState(json: $0) },
        DeviceCapabilities.schema: { _ = try DeviceCapabilities(json: $0) },
        DeviceTelemetry.schema: { _ = try DeviceTelemetry(json: $0) },
        DeviceAssignment.schema: { _ = try DeviceAssignment(json: $0) },
        PlanMessage.schema: { _ = try PlanMessage(json: $0) },
        ServiceState.schema: { _ = try ServiceState(json: $0) },
        AggregatorTelemetry.schema: { _ = try AggregatorTelemetry(json: $0) },
        PlannerTelemetry.schema: { _ = try PlannerTelemetry(json: $0) },
        TaskRequest.schema: { _ = try TaskRequest(json: $0) },
        TaskResult.schema: { _ = try TaskResult(json: $0) },
        TaskErrorMessage.schema: { _ = try TaskErrorMessage(json: $0) },
    ]

    /// Decoders of bundles, by their `s2m3.schema` metadata.
    static let bundleDecoders: [String: @Sendable (TensorBundle) throws -> Void] = [
        InvokeRequest.schema: { _ = try InvokeRequest(bundle: $0) },
        PartialResult.schema: { _ = try PartialResult(bundle: $0) },
        TaskRequest.schema: { _ = try TaskRequest(bundle: $0) },
    ]

    /// A payload with the example header and a data section of the size it declares: zeros, except a
    /// tensor marked as a text list (`application/json`), which holds one string `["aa…"]` of its size.
    static func payload(header: String, object: [String: Any]) -> [UInt8] {
        let end = object.values.compactMap { ($0 as? [String: Any])?["data_offsets"] as? [Int] }.map { $0.last ?? 0 }.max() ?? 0
        var data = [UInt8](repeating: 0, count: end)
        let metadata = object["__metadata__"] as? [String: String] ?? [:]
        for (name, value) in object {
            guard metadata["s2m3.content-type.\(name)"] == "application/json",
                  let offsets = (value as? [String: Any])?["data_offsets"] as? [Int], offsets.count == 2, offsets[1] - offsets[0] >= 4
            else { continue }
            let list = "[\"" + String(repeating: "a", count: offsets[1] - offsets[0] - 4) + "\"]"
            data.replaceSubrange(offsets[0]..<offsets[1], with: Array(list.utf8))
        }
        var bytes = [UInt8]()
        withUnsafeBytes(of: UInt64(header.utf8.count).littleEndian) { bytes.append(contentsOf: $0) }
        return bytes + Array(header.utf8) + data
    }

    @Test func everyJSONExampleDecodesWithItsType() throws {
        let examples = Self.blocks("json", in: try Self.document())
        #expect(examples.count >= 12)
        var covered = Set<String>()
        for example in examples {
            let object = try #require(try JSONSerialization.jsonObject(with: Data(example.utf8)) as? [String: Any], "\(example)")
            if let schema = object["schema"] as? String {
                let decode = try #require(Self.controlDecoders[schema], "no Swift type for schema \(schema)")
                do {
                    try decode(Data(example.utf8))
                    covered.insert(schema)
                } catch {
                    Issue.record("topics.md example of \(schema) does not decode: \(error)")
                }
            } else {
                let metadata = try #require(object["__metadata__"] as? [String: String], "example is neither a message nor a bundle header: \(example)")
                let schema = try #require(metadata["s2m3.schema"])
                let decode = try #require(Self.bundleDecoders[schema], "no Swift type for bundle schema \(schema)")
                do {
                    try decode(TensorBundle(decoding: Self.payload(header: example, object: object)))
                    covered.insert("bundle \(schema)")
                } catch {
                    Issue.record("topics.md bundle example of \(schema) does not decode: \(error)")
                }
            }
        }
        let wanted = Set(Self.controlDecoders.keys).union(Self.bundleDecoders.keys.map { "bundle \($0)" })
        #expect(covered == wanted, "schemas without a decoding example: \(wanted.subtracting(covered).sorted())")
    }

    @Test func topicTableMatchesDelivery() throws {
        var rows: [String: Topics.Delivery] = [:]
        for line in try Self.document().split(separator: "\n") where line.hasPrefix("| `") {
            let cells = line.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) }
            guard cells.count >= 4, let qos = Int(cells[2]), ["yes", "no"].contains(cells[3]) else { continue }
            rows[String(cells[0].dropFirst().dropLast())] = Topics.Delivery(qos: qos, retained: cells[3] == "yes")
        }
        #expect(rows == Topics.delivery)
        #expect(Set(Topics.delivery.keys) == Set(Topics.patterns))
    }

    @Test func errorCodesMetadataKeysAndSharedGroupAreDocumented() throws {
        let document = try Self.document()
        for code in TaskErrorCode.all {
            #expect(document.contains("| `\(code.rawValue)` |"), "error code \(code) missing from topics.md")
        }
        for key in BundleMetadataKey.all {
            #expect(document.contains("`\(key)`"), "metadata key \(key) missing from topics.md")
        }
        #expect(document.contains("`\(Topics().sharedRequests(group: Topics.aggregatorGroup))`"))
        #expect(document.contains("`\(TensorBundle.contentType)`"))
        #expect(document.contains("`\(MessageProperties.requestIDName)`") && document.contains("`\(MessageProperties.epochName)`"))
    }
}

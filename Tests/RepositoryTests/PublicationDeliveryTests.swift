import Foundation
import Testing
import TestSupport

/// Every S2M3 publication takes its QoS and retain flag from its topic's pattern (`Topics.delivery`,
/// topics.md's table) through the helpers of `S2M3Bus/MQTTMessage+Delivery.swift`: no call site
/// types them by hand.
@Suite("Publication delivery")
struct PublicationDeliveryTests {
    /// Files that may type a QoS or retain flag, and why.
    static let allowed: [String: String] = [
        "Sources/MQTTBus/": "the MQTT client itself",
        "Sources/S2M3Core/Topics.swift": "the delivery table",
        "Sources/S2M3Bus/MQTTMessage+Delivery.swift": "the helpers that read it",
        "Sources/s2m3/BusBenchmark.swift": "measures the bus at each QoS, on topics of no pattern",
        "Sources/s2m3/BenchBusCommand.swift": "chooses the QoS BusBenchmark measures",
        "Sources/s2m3/BusProbeCommand.swift": "a will of the caller's choosing, for the bus tests",
    ]

    /// What a source text does by hand: `qos:` or `retain:` arguments, and `MQTTMessage(…)` built
    /// without a topic pattern (`on:`) or a response topic (`responseTopic:`). One line per finding.
    static func handTyped(in source: String) -> [String] {
        var findings: [String] = []
        let lines = source.split(separator: "\n", omittingEmptySubsequences: false)
        for (number, line) in lines.enumerated() {
            let code = line.trimmingCharacters(in: .whitespaces)
            guard !code.hasPrefix("//") else { continue }
            if code.range(of: #"\b(qos|retain):"#, options: .regularExpression) != nil {
                findings.append("\(number + 1): \(code)")
            }
        }
        // Each `MQTTMessage(`'s argument list, up to its balanced closing parenthesis.
        var rest = source[...]
        while let start = rest.range(of: "MQTTMessage(") {
            var depth = 1
            var index = start.upperBound
            while index < rest.endIndex, depth > 0 {
                if rest[index] == "(" { depth += 1 } else if rest[index] == ")" { depth -= 1 }
                index = rest.index(after: index)
            }
            let arguments = rest[start.upperBound..<index]
            if !arguments.contains("on: ") && !arguments.contains("responseTopic: ") {
                let line = source[..<start.lowerBound].filter { $0 == "\n" }.count + 1
                findings.append("\(line): MQTTMessage(\(arguments)")
            }
            rest = rest[start.upperBound...]
        }
        return findings
    }

    @Test func findsHandTypedDelivery() {
        #expect(Self.handTyped(in: "let m = MQTTMessage(topic: t, payload: p, qos: .atMostOnce)").count == 2)
        #expect(Self.handTyped(in: "send(MQTTMessage(\n  topic: t, payload: p,\n  retain: true))").count == 2)
        #expect(Self.handTyped(in: "MQTTMessage(topic: t, payload: p, properties: x)") == ["1: MQTTMessage(topic: t, payload: p, properties: x)"])
        #expect(Self.handTyped(in: "try MQTTMessage(topic: t, control: c, on: topics)\n/// qos: 1 in a comment").isEmpty)
        #expect(Self.handTyped(in: "MQTTMessage(responseTopic: r, payload: p, properties: q)").isEmpty)
    }

    @Test func noPublisherTypesQoSOrRetain() throws {
        let repository = TestPaths.repository
        for path in Self.allowed.keys {
            #expect(FileManager.default.fileExists(atPath: repository.appendingPathComponent(path).path), "allowed file \(path) is gone")
        }
        let sources = repository.appendingPathComponent("Sources")
        let files = try #require(FileManager.default.enumerator(at: sources, includingPropertiesForKeys: nil))
        var checked = 0
        for case let url as URL in files where url.pathExtension == "swift" {
            let path = String(url.path.dropFirst(repository.path.count + 1))
            guard !Self.allowed.keys.contains(where: { path.hasPrefix($0) }) else { continue }
            checked += 1
            let findings = Self.handTyped(in: try String(contentsOf: url, encoding: .utf8))
            #expect(findings.isEmpty, "\(path) types a QoS or retain flag by hand; use MQTTMessage(topic:…, on: topics), MQTTMessage(responseTopic:…) or subscribe(_:on:):\n\(findings.joined(separator: "\n"))")
        }
        #expect(checked > 50)
    }
}

import Foundation
import TestSupport
import Testing

/// docs/operations.md lists every metric the sources make, and nothing else.
@Suite struct MetricsDocsTests {
    /// `label: "s2m3_…"` and `name: "s2m3_…"` in Sources/.
    static func namesInSources() throws -> Set<String> {
        let sources = TestPaths.repository.appendingPathComponent("Sources")
        let files = try #require(FileManager.default.enumerator(atPath: sources.path)).compactMap { $0 as? String }.filter { $0.hasSuffix(".swift") }
        var names: Set<String> = []
        for file in files {
            let text = try String(contentsOf: sources.appendingPathComponent(file), encoding: .utf8)
            for match in text.matches(of: /(?:label|name): "(s2m3_[a-z_]+)"/) { names.insert(String(match.output.1)) }
        }
        return names
    }

    /// The first column of the metric tables of docs/operations.md.
    static func namesInDocs() throws -> Set<String> {
        let text = try String(contentsOf: TestPaths.repository.appendingPathComponent("docs/operations.md"), encoding: .utf8)
        var names: Set<String> = []
        for line in text.split(separator: "\n") {
            if let match = line.firstMatch(of: /^\| `(s2m3_[a-z_]+)` \|/) { names.insert(String(match.output.1)) }
        }
        return names
    }

    @Test func everyMetricIsDocumentedAndEveryDocumentedOneExists() throws {
        let sources = try Self.namesInSources(), docs = try Self.namesInDocs()
        #expect(sources.count >= 20)
        #expect(sources.subtracting(docs).isEmpty, "not in docs/operations.md: \(sources.subtracting(docs).sorted())")
        #expect(docs.subtracting(sources).isEmpty, "documented but not made: \(docs.subtracting(sources).sorted())")
    }

    @Test func countersEndInTotalAndNothingElseDoes() throws {
        let text = try String(contentsOf: TestPaths.repository.appendingPathComponent("docs/operations.md"), encoding: .utf8)
        for line in text.split(separator: "\n") {
            guard let match = line.firstMatch(of: /^\| `(s2m3_[a-z_]+)` \| ([a-z]+) \|/) else { continue }
            let (name, type) = (String(match.output.1), String(match.output.2))
            #expect(["counter", "gauge", "histogram"].contains(type), "\(name): \(type)")
            #expect(name.hasSuffix("_total") == (type == "counter"), "\(name) is a \(type)")
            if type == "histogram" { #expect(name.hasSuffix("_seconds"), "\(name)") }
        }
    }
}

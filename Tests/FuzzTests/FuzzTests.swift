import Foundation
import Testing

/// Issue 10, item 7: seeded mutation fuzzing of every decoder that reads outside bytes, run by
/// `swift test` (and so by CI) for `S2M3_FUZZ_SECONDS` per harness (default 1.5 s). A trap ends
/// the test process (the run fails); every input must give a value or the decoder's typed error,
/// and the properties in ``FuzzTargets`` (round trips, header checks agreeing with decoders) must
/// hold. Each harness prints its inputs per second.
@Suite("Fuzz: decoders of outside bytes")
struct FuzzTests {
    /// Outcomes that are findings, not decoder errors.
    static let findings: Set<String> = ["round-trip-differs", "header-disagrees", "negative-size", "bad-duration", "json-disagrees"]

    @Test("mutated inputs give a value or a typed error", arguments: FuzzTargets.all)
    func harness(_ harness: FuzzHarness) throws {
        var found: [String] = []
        var unnamed = 0
        let report = try FuzzRunner.run(harness, seconds: FuzzSettings.seconds) { input, outcome in
            guard case .error(let code, let message) = outcome else { return }
            if Self.findings.contains(code) {
                if found.count < 3 { found.append("\(code) \(message) on \(input.count) bytes: \(input.prefix(96).map { String(format: "%02x", $0) }.joined())") }
            } else if code.isEmpty || (message.isEmpty && code != "unreadable") {
                unnamed += 1
            }
        }
        print(report)
        #expect(found.isEmpty, "\(harness.name): \(found.joined(separator: "\n"))")
        #expect(unnamed == 0, "\(harness.name): \(unnamed) errors without a code or message")
        #expect(report.values > 0, "\(harness.name): no seed decoded; the seeds are not real inputs")
        #expect(report.errors.values.reduce(0, +) > 0, "\(harness.name): no mutation was refused; the mutator is not mutating")
        #expect(report.inputs > 100, "\(harness.name): only \(report.inputs) inputs in \(report.seconds) s")
    }

    @Test("the same seed gives the same inputs")
    func mutatorIsReproducible() {
        let corpus: [[UInt8]] = [Array(#"{"schema":"s2m3.plan/1","epoch":3}"#.utf8), [0x89, 0x50, 0x4E, 0x47, 1, 2, 3]]
        var a = Mutator(seed: 42, corpus: corpus), b = Mutator(seed: 42, corpus: corpus), c = Mutator(seed: 43, corpus: corpus)
        let first = (0..<200).map { _ in a.next() }
        #expect(first == (0..<200).map { _ in b.next() })
        #expect(first != (0..<200).map { _ in c.next() })
        #expect(Set(first).count > 150, "mutations repeat: \(Set(first).count) distinct of 200")
    }
}

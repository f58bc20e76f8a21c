import Foundation
import Testing

@testable import S2M3Core

/// The hand-written result JSON (``JSONWriter``) against `JSONEncoder` on the same message: the
/// bytes must be equal, for every output kind, optional field, extreme number and escaped string.
@Suite("JSONWriter: results as JSONEncoder writes them")
struct JSONWriterTests {
    /// A seeded generator (xorshift64*), so a failure recurs.
    struct Generator: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state ^= state >> 12
            state ^= state << 25
            state ^= state >> 27
            return state &* 2_685_821_657_736_338_717
        }
    }

    static let doubles: [Double] = [0, -0.0, 1, 0.1, 1e-5, 1e15, 1e16, 1e21, 123456789012345680, .leastNonzeroMagnitude,
                                    .greatestFiniteMagnitude, -.greatestFiniteMagnitude, 2.5, 100, 0.000123, 29.183_5]
    static let texts = ["", "cat", "a \"quoted\" \\ back/slash", "\u{01}\u{08}\u{0C}\n\r\t\u{1F}\u{7F}", "naïve ✓ 😀 \u{2028}", "{\"json\":[1]}"]

    static func double(_ random: inout Generator) -> Double {
        if Bool.random(using: &random) { return doubles.randomElement(using: &random)! }
        let value = Double(bitPattern: random.next())
        return value.isFinite ? value : 1.5
    }

    static func nonNegative(_ random: inout Generator) -> Double { abs(double(&random)) }

    static func text(_ random: inout Generator) -> String {
        Bool.random(using: &random) ? texts.randomElement(using: &random)! : String((0..<Int.random(in: 0..<12, using: &random)).map { _ in
            Character(Unicode.Scalar(UInt32.random(in: 1...0x2FF, using: &random))!)
        })
    }

    static func identifier(_ random: inout Generator) -> String {
        let alphabet = Array("abcXYZ019-_.")
        return String((0..<Int.random(in: 1...10, using: &random)).map { _ in alphabet.randomElement(using: &random)! })
    }

    static func output(_ random: inout Generator) -> TaskOutput {
        switch Int.random(in: 0..<4, using: &random) {
        case 0: .labels((0..<Int.random(in: 0...5, using: &random)).map { _ in TaskOutput.ScoredLabel(label: text(&random), score: double(&random)) })
        case 1: .text(text(&random))
        case 2: .texts((0..<Int.random(in: 0...4, using: &random)).map { _ in text(&random) })
        default:
            .embedding((0..<Int.random(in: 0...8, using: &random)).map { _ in
                let value = Float(bitPattern: UInt32(truncatingIfNeeded: random.next()))
                return value.isFinite ? value : 0.25
            })
        }
    }

    static func result(_ random: inout Generator) -> TaskResult {
        var outputs: [String: TaskOutput] = [:]
        for _ in 0..<Int.random(in: 1...4, using: &random) { outputs[identifier(&random)] = output(&random) }
        let timeline = (0..<Int.random(in: 0...4, using: &random)).map { _ in
            let start = nonNegative(&random) / 4
            var entry = TaskTimelineEntry(
                node: identifier(&random), module: identifier(&random), device: identifier(&random), attempt: Int.random(in: 1...5, using: &random),
                queuedMs: nonNegative(&random), computeMs: nonNegative(&random), transferMs: nonNegative(&random), startMs: start, endMs: start * 2)
            if Bool.random(using: &random) { entry.sharedWith = ["classify-image", "match-image-text"] }
            if Bool.random(using: &random) { entry.chainedAfter = identifier(&random) }
            return entry
        }
        var result = TaskResult(
            requestID: "req-\(random.next())", task: identifier(&random), epoch: Int.random(in: 0...1_000_000, using: &random), outputs: outputs,
            timeline: timeline, totalMs: nonNegative(&random), aggregator: identifier(&random),
            completedAtMs: Int.random(in: 0...4_102_444_800_000, using: &random))
        if Bool.random(using: &random) { result.frame = StreamFrameReference(source: identifier(&random), sequence: Int.random(in: 0...1_000, using: &random), capturedMs: 1_796_000_000_000) }
        if Bool.random(using: &random) {
            result.utterance = StreamUtterance(
                source: identifier(&random), index: 3, startMs: 250.5, endMs: 1_250, capturedMs: 1_796_000_000_000,
                endReason: [.silence, .maxLength, .gap, .sourceEnded].randomElement(using: &random)!, gap: Bool.random(using: &random))
        }
        return result
    }

    @Test func resultsAreWrittenAsJSONEncoderWritesThem() throws {
        var random = Generator(state: 0x5EED_1234_ABCD)
        for index in 0..<2_000 {
            let result = Self.result(&random)
            let written = try result.jsonBytes()
            let encoded = [UInt8](try result.encoded(pretty: false))
            #expect(written == encoded, "result \(index):\n\(String(decoding: written, as: UTF8.self))\n\(String(decoding: encoded, as: UTF8.self))")
            if written != encoded { return }
            #expect(try TaskResult(json: written) == result)
        }
    }

    @Test func anInvalidResultIsRefusedBeforeWriting() {
        var random = Generator(state: 7)
        var result = Self.result(&random)
        result.totalMs = .nan
        #expect(throws: MessageError.self) { try result.jsonBytes() }
        result.totalMs = 1
        result.outputs = [:]
        #expect(throws: MessageError.self) { try result.jsonBytes() }
    }
}

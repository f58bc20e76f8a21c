import Foundation
import Testing

@testable import S2M3Core

/// The hand-written readers of an invocation's chain and of a list of texts (``JSONReader``)
/// against `JSONDecoder` on the same text: what they take must decode to the same value, and what
/// the decoder refuses they must refuse. They may refuse more (a key given twice, an attempt
/// written as `1.0` or `1e0`, more steps or arguments than an invocation may have).
@Suite("JSONReader: chains and text lists as JSONDecoder reads them")
struct JSONReaderTests {
    typealias Generator = JSONWriterTests.Generator
    typealias Step = InvokeRequest.Step

    static func chain(_ random: inout Generator) -> [Step] {
        (0..<Int.random(in: 1...4, using: &random)).map { _ in
            Step(
                node: JSONWriterTests.text(&random), module: JSONWriterTests.text(&random), attempt: Int.random(in: -3...1_000_000, using: &random),
                returnsOutputs: Bool.random(using: &random),
                arguments: (0..<Int.random(in: 0...3, using: &random)).map { _ in
                    .init(value: JSONWriterTests.text(&random), tensor: JSONWriterTests.text(&random))
                })
        }
    }

    static func foundationChain(_ text: String) -> [Step]? { try? JSONDecoder().decode([Step].self, from: Data(text.utf8)) }

    static func ourChain(_ text: String) -> [Step]? { try? InvokeRequest.chain(from: text) }

    /// `text` with one byte deleted, replaced or inserted, or a run of it repeated.
    static func mutated(_ text: String, _ random: inout Generator) -> String {
        var bytes = Array(text.utf8)
        let alphabet = Array("{}[]\":,\\ tfn0123456789-+.eEu/a".utf8) + [0x00, 0x1F, 0x7F, 0xC3, 0xFF]
        let at = Int.random(in: 0..<max(1, bytes.count), using: &random)
        switch Int.random(in: 0..<4, using: &random) {
        case 0 where !bytes.isEmpty: bytes.remove(at: at)
        case 1 where !bytes.isEmpty: bytes[at] = alphabet.randomElement(using: &random)!
        case 2: bytes.insert(alphabet.randomElement(using: &random)!, at: min(at, bytes.count))
        default:
            let end = min(bytes.count, at + Int.random(in: 1...12, using: &random))
            bytes.insert(contentsOf: bytes[at..<end], at: end)
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    @Test func writtenChainsReadBackEqual() throws {
        var random = Generator(state: 0x5EED_C4A1)
        for _ in 0..<1_000 {
            let steps = Self.chain(&random)
            let ours = InvokeRequest.chainText(steps)
            #expect(try InvokeRequest.chain(from: ours) == steps)
            #expect(Self.foundationChain(ours) == steps, "JSONDecoder reads what the writer wrote: \(ours)")
            // What JSONEncoder wrote (an older aggregator: slashes escaped, keys in declaration order).
            let encoded = String(decoding: try JSONEncoder().encode(steps), as: UTF8.self)
            #expect(try InvokeRequest.chain(from: encoded) == steps)
        }
    }

    @Test func mutatedChainsAreReadAsJSONDecoderReadsThem() throws {
        var random = Generator(state: 0xC4A1_0002)
        var taken = 0, refused = 0
        for _ in 0..<6_000 {
            var text = InvokeRequest.chainText(Self.chain(&random))
            for _ in 0..<Int.random(in: 1...3, using: &random) { text = Self.mutated(text, &random) }
            let ours = Self.ourChain(text), foundation = Self.foundationChain(text)
            if let ours {
                taken += 1
                #expect(foundation == ours, "ours took \(text.debugDescription) as \(ours); JSONDecoder: \(String(describing: foundation))")
            } else {
                refused += 1
            }
            if foundation == nil { #expect(ours == nil, "JSONDecoder refuses \(text.debugDescription); ours took it") }
        }
        #expect(taken > 100 && refused > 1_000, "the mutations reach both sides: \(taken) taken, \(refused) refused")
    }

    @Test func chainsThatAreNotStepsAreRefusedSayingWhy() {
        let step = #"{"node":"n2","module":"m","attempt":1,"returnsOutputs":true,"arguments":[{"value":"n1","tensor":"y"}]}"#
        func refusal(_ text: String) -> String {
            do {
                _ = try InvokeRequest.chain(from: text)
                return "taken"
            } catch {
                #expect(error.field == BundleMetadataKey.chain)
                return error.message
            }
        }
        #expect(refusal(#"[{"node":"n2"}]"#).contains("a step is missing module, attempt, returnsOutputs, arguments"))
        #expect(refusal("[" + step.replacingOccurrences(of: #""node":"n2""#, with: #""node":"n2","node":"n3""#) + "]").contains("a step gives 'node' twice"))
        #expect(refusal("[" + step.replacingOccurrences(of: #""attempt":1"#, with: #""attempt":1.0"#) + "]").contains("a whole number for 'attempt'"))
        #expect(refusal("[" + step.replacingOccurrences(of: #""returnsOutputs":true"#, with: #""returnsOutputs":1"#) + "]").contains("true or false"))
        #expect(refusal("[" + step + "] x").contains("nothing after the steps"))
        #expect(refusal(step).contains("'[' starting the steps"))
        #expect(refusal("").contains("'[' starting the steps"))
        #expect(refusal("[" + Array(repeating: step, count: InvokeRequest.maxChainSteps + 1).joined(separator: ",") + "]").contains("more than 64 steps"))
        let argument = #"{"value":"v","tensor":"t"}"#
        let many = "[" + Array(repeating: argument, count: InvokeRequest.maxStepArguments + 1).joined(separator: ",") + "]"
        #expect(refusal("[" + step.replacingOccurrences(of: #"[{"value":"n1","tensor":"y"}]"#, with: many) + "]").contains("more than 256 arguments"))
        #expect(refusal("[" + String(repeating: "[", count: 100_000) + "]").contains("a step object"))
        // Unknown keys are skipped, whatever they hold (to a bounded depth).
        let extra = step.replacingOccurrences(of: #"{"node""#, with: #"{"future":{"a":[1,2.5e3,null,"x"]},"node""#)
        #expect(refusal("[" + extra + "]") == "taken")
        let deep = step.replacingOccurrences(of: #"{"node""#, with: #"{"future":"# + String(repeating: "[", count: 200) + String(repeating: "]", count: 200) + #","node""#)
        #expect(refusal("[" + deep + "]").contains("levels of nesting"))
    }

    @Test func textListsAreReadAsJSONDecoderReadsThem() {
        var random = Generator(state: 0x7E47_0003)
        var taken = 0
        for round in 0..<4_000 {
            let texts = (0..<Int.random(in: 0...4, using: &random)).map { _ in JSONWriterTests.text(&random) }
            var bytes = JSONText.encodeStringArray(texts)
            #expect(JSONText.decodeStringArray(bytes) == texts)
            if round % 2 == 1 {
                bytes = Array(Self.mutated(String(decoding: bytes, as: UTF8.self), &random).utf8)
            }
            let ours = JSONText.decodeStringArray(bytes), foundation = try? JSONDecoder().decode([String].self, from: Data(bytes))
            if ours != nil { taken += 1 }
            #expect(ours == foundation, "\(String(decoding: bytes, as: UTF8.self).debugDescription): ours \(String(describing: ours)), JSONDecoder \(String(describing: foundation))")
        }
        #expect(taken > 2_000)
        #expect(JSONText.decodeStringArray(Array(" [ \"a\" , \"\\u00e9\\ud83d\\ude00\" ] ".utf8)) == ["a", "é😀"])
        #expect(JSONText.decodeStringArray(Array("[\"a\",]".utf8)) == nil)
        #expect(JSONText.decodeStringArray(Array("[\"a\"] []".utf8)) == nil)
        #expect(JSONText.decodeStringArray(Array("[1]".utf8)) == nil)
        #expect(JSONText.decodeStringArray([0x5B, 0x22, 0xFF, 0x22, 0x5D]) == nil, "not UTF-8")
    }
}

import Foundation
import Testing

/// What a decoder made of one input: a value, or a typed error with its code and message.
/// Anything else (a trap, an untyped error) is a finding.
enum FuzzOutcome: Equatable {
    case value
    case error(code: String, message: String)
}

/// One decoder under fuzz: its seed inputs (real fixtures and the crash reproducers of issue 10)
/// and a function that feeds it one input. `decode` catches the decoder's own typed error and
/// returns it as ``FuzzOutcome/error(code:message:)``; a value is checked further where a property
/// holds (a decoded message encodes again and reads back equal).
struct FuzzHarness: Sendable, CustomTestStringConvertible {
    let name: String
    let seeds: @Sendable () throws -> [[UInt8]]
    let decode: @Sendable ([UInt8]) throws -> FuzzOutcome

    var testDescription: String { name }
}

/// Counts of one harness's run.
struct FuzzReport: CustomStringConvertible {
    var name: String
    var inputs = 0
    var values = 0
    var errors: [String: Int] = [:]
    var seconds = 0.0

    var inputsPerSecond: Double { seconds > 0 ? Double(inputs) / seconds : 0 }
    var description: String {
        let codes = errors.sorted { $0.value > $1.value }.prefix(4).map { "\($0.key) \($0.value)" }.joined(separator: ", ")
        return "fuzz \(name): \(inputs) inputs in \(String(format: "%.2f", seconds)) s (\(Int(inputsPerSecond.rounded())) inputs/s), \(values) values, errors: \(codes)"
    }
}

/// How long each harness runs and from which seed: `S2M3_FUZZ_SECONDS` (default 1.5 s, what CI
/// runs) and `S2M3_FUZZ_SEED` (default fixed, so a failure recurs on the next run).
enum FuzzSettings {
    static var seconds: Double {
        ProcessInfo.processInfo.environment["S2M3_FUZZ_SECONDS"].flatMap(Double.init).map { max(0.1, $0) } ?? 1.5
    }
    static var seed: UInt64 {
        ProcessInfo.processInfo.environment["S2M3_FUZZ_SEED"].flatMap { UInt64($0) } ?? 0x5EED_0F_15_5ED
    }

    /// A seed per harness, so harnesses do not walk the same sequence.
    static func seed(for name: String) -> UInt64 {
        name.utf8.reduce(seed) { ($0 ^ UInt64($1)) &* 0x100_0000_01B3 }
    }
}

/// Runs each harness's seeds, then mutated inputs until the time is up.
enum FuzzRunner {
    /// Calls `check` with every input and its outcome; throws what `decode` throws untyped.
    static func run(
        _ harness: FuzzHarness, seconds: Double, check: ([UInt8], FuzzOutcome) -> Void
    ) throws -> FuzzReport {
        let seeds = try harness.seeds()
        var report = FuzzReport(name: harness.name)
        var mutator = Mutator(seed: FuzzSettings.seed(for: harness.name), corpus: seeds)
        let clock = ContinuousClock()
        let start = clock.now
        let budget = Duration.milliseconds(Int(seconds * 1_000))
        var index = 0
        while true {
            let input: [UInt8]
            if index < seeds.count {
                input = seeds[index]
            } else {
                if index % 16 == 0, clock.now - start > budget { break }
                input = mutator.next()
            }
            index += 1
            let outcome = try harness.decode(input)
            report.inputs += 1
            switch outcome {
            case .value: report.values += 1
            case .error(let code, _): report.errors[code, default: 0] += 1
            }
            check(input, outcome)
        }
        report.seconds = (clock.now - start) / .seconds(1)
        return report
    }
}

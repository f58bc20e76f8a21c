import TestSupport
import Testing

/// `s2m3 bench cluster`'s own options: a negative settling time, a timelines file that cannot be
/// created, and an unknown task are refused with what was wrong before any broker or device starts.
@Suite("s2m3 bench cluster options")
struct BenchClusterOptionsTests {
    @Test func aNegativeSettlingTimeIsRefused() async throws {
        let outcome = try await S2M3Run.run(["bench", "cluster", "--throughput-settle=-1"], limit: .seconds(30))
        #expect(outcome.status != 0)
        #expect(outcome.output.contains("--throughput-settle at least 0"), "\(outcome.output)")
    }

    @Test func aTimelinesFileThatCannotBeCreatedIsRefused() async throws {
        let outcome = try await S2M3Run.run(
            ["bench", "cluster", "--timelines", "/nonexistent-folder/timelines.jsonl", "--logs", "/nonexistent-folder/logs"], limit: .seconds(60))
        #expect(outcome.status != 0)
        #expect(outcome.output.contains("--timelines: cannot create '/nonexistent-folder/timelines.jsonl'"), "\(outcome.output)")
        #expect(!outcome.output.contains("edge broker"), "nothing started: \(outcome.output)")
    }

    @Test func anUnknownTaskIsRefusedNamingTheKnownOnes() async throws {
        let outcome = try await S2M3Run.run(["bench", "cluster", "--tasks", "classify-image,no-such-task"], limit: .seconds(60))
        #expect(outcome.status != 0)
        #expect(outcome.output.contains("--tasks: unknown task in 'classify-image,no-such-task'"), "\(outcome.output)")
        #expect(outcome.output.contains("match-image-text"), "the known tasks are listed: \(outcome.output)")
        #expect(!outcome.output.contains("edge broker"), "nothing started: \(outcome.output)")
    }
}

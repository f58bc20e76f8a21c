import TestSupport
import Testing

/// `s2m3 bench cluster`'s own options: a negative settling time, and a timelines file that cannot
/// be created, are refused with what was wrong before any broker or device starts.
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
}

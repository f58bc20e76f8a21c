import TestSupport
import Testing

/// `s2m3 bench bus --payload`: a size the benchmark does not have is refused, naming the ones it has,
/// before any broker starts.
@Suite("s2m3 bench bus options")
struct BenchBusOptionsTests {
    @Test func anUnknownPayloadSizeIsRefusedWithTheKnownOnes() async throws {
        let outcome = try await S2M3Run.run(["bench", "bus", "--payload", "2MB", "--no-write"], limit: .seconds(30))
        #expect(outcome.status != 0)
        #expect(outcome.output.contains("--payload 2MB: expected one of 1KB, 100KB, 1MB"), "\(outcome.output)")
    }
}

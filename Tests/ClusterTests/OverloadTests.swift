import Foundation
import MQTTBus
import S2M3Client
import S2M3Core
import TestSupport
import Testing

/// Issue 10, item 5: under overload the cluster sheds instead of collapsing. A real `s2m3 up`
/// cluster (broker, planner, aggregator, two device agents, real classify-image weights): its
/// capacity is measured first, then it is offered 10× that for 10 s.
@Suite("Overload", .serialized)
struct OverloadTests {
    @Test("10× capacity: every request answered or refused at once, results at ≥ 80 % of capacity")
    func shedsInsteadOfCollapsing() async throws {
        let cluster = try await UpCluster(["--devices", "2", "--device-memory", "600MB"])
        let connection = cluster.connection("overload")
        do {
            try await connection.connect()
            let image = try ClusterTests.file("chelsea.jpg")
            func load(_ name: String) -> RequestLoad {
                RequestLoad(connection: connection, task: "classify-image", payload: image, contentType: MediaType.jpeg, name: name)
            }
            _ = try await load("warm").closedLoop(concurrency: 4, seconds: 1)
            // Results per second, first request to last result (the machine's other load moves it).
            let measured = try await load("capacity").closedLoop(concurrency: 8, seconds: 8)
            let capacity = try #require(measured.throughputPerSecond, "too few results to measure: \(measured)")
            print("overload: capacity run \(measured.sent) sent, \(measured.results) results, errors \(measured.errors), \(measured.sendingSeconds) s, result p50 \(LoadOutcome.quantile(measured.resultLatenciesMs, 0.5) ?? -1) ms")
            let over = try await load("over").openLoop(rate: 10 * capacity, seconds: 10, drain: .seconds(30))
            let p50 = LoadOutcome.quantile(over.rejectionLatenciesMs, 0.5) ?? .infinity
            let p95 = LoadOutcome.quantile(over.rejectionLatenciesMs, 0.95) ?? .infinity
            let summary = "capacity \(capacity)/s; offered \(over.offeredPerSecond)/s: \(over.sent) sent, \(over.results) results (throughput \(over.throughputPerSecond ?? 0)/s while sending), errors \(over.errors), silent \(over.silent), rejection p50 \(p50) ms p95 \(p95) ms"
            print("overload: \(summary)")
            print("overload: result arrivals (s) \(over.resultOffsets.sorted().map { String(format: "%.2f", $0) }.joined(separator: " "))")
            #expect(over.silent == 0, "\(summary)")
            #expect(over.repeated == 0, "\(summary)")
            #expect(over.results + over.rejected == over.sent, "only results and overloaded: \(summary)")
            #expect(over.rejected > 0, "\(summary)")
            #expect(p50 < 100, "median rejection latency: \(summary)")
            #expect((over.throughputPerSecond ?? 0) >= 0.8 * capacity, "\(summary)")
        } catch {
            await connection.disconnect()
            await cluster.stop()
            throw error
        }
        await connection.disconnect()
        await cluster.stop()
    }
}

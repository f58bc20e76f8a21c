import Foundation
import MQTTBus
import S2M3Client
import S2M3Core
import TestSupport
import Testing

/// Replicas from measured load (issue 14, item 3; docs/placement.md, "Learning from telemetry")
/// on a real cluster from `s2m3 up`: a load probe reports classify-image and match-image-text as
/// hot on `aggregators/load-probe/telemetry` (the same message an aggregator under that load
/// publishes; its measurement is `RecentOutcomesTests`). The planner replicates a module of
/// classify-image, the devices load it, and the real aggregator's routing sends concurrent
/// requests to both replicas.
@Suite("Replicas from measured load on a local cluster", .serialized)
struct ReplicaLoadClusterTests {
    static let imageModules: Set = ["image-preprocess", "effnet-lite0-trunk", "imagenet-head", "top-k"]

    @Test("a hot load replicates an image module and the aggregator uses both replicas", .timeLimit(.minutes(6)))
    func hotLoadAddsReplicasThatRoutingUses() async throws {
        let cluster = try await UpCluster(["--devices", "2", "--device-memory", "3GB", "--device-gflops", "100", "--no-restart"])
        do {
            let first = try await cluster.plan()
            #expect(first.placement.filter { Self.imageModules.contains($0.key) }.allSatisfy { $0.value.count == 1 }, "\(first.placement)")
            // About 70 % of one device's time for the two image tasks, by the first plan's own figures.
            let predicted = try #require(first.predictedLatencyMs["classify-image"])
            let rate = (0.35 / (predicted / 1000)).rounded()
            let probe = cluster.connection("load-probe")
            try await probe.connect()
            let topics = Topics()
            let reporting = Task {
                while !Task.isCancelled {
                    let report = AggregatorTelemetry(
                        aggregator: "load-probe", timestampMs: WallClock.milliseconds, epoch: nil, inFlight: 0,
                        requestsPerSecond: 2 * rate, rateWindowMs: 10_000, windowMs: 60_000, requests: 0, results: 0, errors: [:],
                        taskRates: ["classify-image": rate, "match-image-text": rate])
                    try? await probe.publish(MQTTMessage(
                        topic: topics.aggregatorTelemetry("load-probe"), payload: try report.jsonBytes(),
                        properties: MQTTProperties(report.properties())))
                    try? await Task.sleep(for: .seconds(1))
                }
            }
            defer { reporting.cancel() }
            let deadline = ContinuousClock.now + .seconds(90)
            var replicated: (plan: PlanMessage, module: String)?
            while ContinuousClock.now < deadline {
                let plan = try await cluster.plan()
                if let module = plan.placement.first(where: { Self.imageModules.contains($0.key) && $0.value.count > 1 })?.key {
                    replicated = (plan, module)
                    break
                }
                try await Task.sleep(for: .seconds(1))
            }
            let (plan, module) = try #require(
                replicated, "no plan replicated an image module at \(rate) requests/s per image task (logs in \(cluster.logs))")
            #expect(plan.epoch > first.epoch && !plan.moves.isEmpty)
            print("replicas at \(rate) requests/s per image task: epoch \(plan.epoch), \(module) on \(plan.placement[module] ?? [])")

            // Concurrent requests spread over both replicas once they are loaded.
            let client = try await cluster.client()
            let image = try ClusterTests.image("chelsea.jpg")
            var devices: Set<String> = []
            for _ in 0..<10 where devices.count < 2 {
                let results = try await withThrowingTaskGroup(of: TaskResult.self) { group in
                    for _ in 0..<8 {
                        group.addTask { try await client.request(task: "classify-image", inputs: ["image": image], timeout: .seconds(60)) }
                    }
                    return try await group.reduce(into: []) { $0.append($1) }
                }
                for result in results {
                    devices.formUnion(result.timeline.filter { $0.module == module }.map(\.device))
                }
            }
            #expect(devices == Set(plan.placement[module] ?? []), "\(module) ran on \(devices)")
            await client.close()
            reporting.cancel()
            await probe.disconnect()
        } catch {
            await cluster.stop()
            throw error
        }
        await cluster.stop()
    }
}

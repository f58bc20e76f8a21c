import Foundation
import S2M3Core
import TestSupport
import Testing

/// The planner learns from what runs (docs/placement.md, "Learning from telemetry"), end to end: on
/// a real cluster, read-text's first prediction comes from the catalog, which counts its built-ins
/// as free and times the OCR models on synthetic inputs; after a few real requests the planner
/// re-plans with the devices' and the aggregator's measurements (moving modules only when that
/// pays by 20 %), and `s2m3 status` shows the new prediction beside the measured p50.
@Suite("Planner learning on a local cluster", .serialized)
struct PlannerLearningClusterTests {
    @Test("read-text's prediction comes to the measured p50 after a few requests", .timeLimit(.minutes(6)))
    func predictionsLearnFromTelemetry() async throws {
        let cluster = try await UpCluster(["--devices", "2", "--device-gflops", "100", "--no-restart"])
        do {
            let first = try await cluster.plan()
            let firstPrediction = try #require(first.predictedLatencyMs["read-text"])
            let client = try await cluster.client()
            var measured: [Double] = []
            for _ in 0..<7 {
                let start = ContinuousClock.now
                _ = try await client.request(
                    task: "read-text", inputs: ["image": try ClusterTests.image("ocr-inspection.png")], timeout: .seconds(60))
                let elapsed = ContinuousClock.now - start
                measured.append(Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15)
            }
            await client.close()
            let p50 = measured.sorted()[measured.count / 2]
            // The catalog's figure was far off (built-ins free): the test means something only then.
            #expect(firstPrediction < p50 / 2, "first prediction \(firstPrediction) ms against \(p50) ms measured")
            let snapshot = try await StatusCommandTests.waitFor("a plan predicting read-text from what ran", cluster, limit: .seconds(120)) {
                snapshot in
                guard let row = snapshot.tasks.first(where: { $0.task == "read-text" }), let predicted = row.predictedMs,
                    let plan = snapshot.plan, plan.epoch > first.epoch
                else { return false }
                // Learned in steps (devices report at their own pace; one re-plan per 30 s).
                guard let aggregatorP50 = row.measuredP50Ms else { return false }
                return predicted > aggregatorP50 / 2 && predicted < aggregatorP50 * 2
            }
            let row = try #require(snapshot.tasks.first { $0.task == "read-text" })
            let predicted = try #require(row.predictedMs), aggregatorP50 = try #require(row.measuredP50Ms)
            // Within a factor 2 of what the aggregator (waited for above) and the client measured
            // (the benchmark holds it to 25 %; a test on a shared machine gets a wider bound).
            #expect(predicted > aggregatorP50 / 2 && predicted < aggregatorP50 * 2, "predicted \(predicted) ms, aggregator p50 \(aggregatorP50) ms")
            #expect(predicted > p50 / 2 && predicted < p50 * 2, "predicted \(predicted) ms, client p50 \(p50) ms")
            // Learning may move modules when a fresh solve beats the current placement by 20 %
            // (with chains, co-locating read-text's OCR modules can), but every module stays
            // placed and every task stays available.
            let learned = try await cluster.plan()
            #expect(Set(learned.placement.keys) == Set(first.placement.keys))
            #expect(learned.placement.values.allSatisfy { !$0.isEmpty })
            #expect(learned.unavailableTasks?.isEmpty ?? true, "\(learned.unavailableTasks ?? [:])")
        } catch {
            await cluster.stop()
            throw error
        }
        await cluster.stop()
    }
}

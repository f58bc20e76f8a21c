import S2M3Core
import Testing

@testable import Aggregator

/// The counts an aggregator's telemetry reports: recent requests, results and errors by code.
@Suite("Recent outcomes of an aggregator")
struct RecentOutcomesTests {
    @Test func countsWithinTheWindowAndRateOverItsOwn() throws {
        var recent = RecentOutcomes(windowSeconds: 60, rateSeconds: 10)
        let start = 1_767_225_600_000.0
        for second in 0..<30 {
            recent.request(nowMs: start + Double(second) * 1000)
            recent.result(nowMs: start + Double(second) * 1000 + 5)
        }
        recent.error(.overloaded, nowMs: start + 29_000)
        recent.error(.overloaded, nowMs: start + 29_100)
        recent.error(.badInput, nowMs: start + 2_000)
        let now = start + 29_500
        let telemetry = recent.telemetry(aggregator: "agg-1", epoch: 4, inFlight: 2, nowMs: now)
        #expect(telemetry.requests == 30 && telemetry.results == 30)
        #expect(telemetry.errors == ["overloaded": 2, "bad-input": 1])
        #expect(telemetry.requestsPerSecond == 1.0, "10 requests in the last 10 s")
        #expect(telemetry.epoch == 4 && telemetry.inFlight == 2 && telemetry.windowMs == 60_000 && telemetry.rateWindowMs == 10_000)
        try telemetry.validate()

        // 50 s later only the last 10 s of requests are in the window; none in the rate's.
        let later = recent.telemetry(aggregator: "agg-1", epoch: 4, inFlight: 0, nowMs: start + 79_500)
        #expect(later.requests == 10 && later.errors == ["overloaded": 2])
        #expect(later.requestsPerSecond == 0)
        // After the whole window: nothing.
        let quiet = recent.telemetry(aggregator: "agg-1", epoch: nil, inFlight: 0, nowMs: start + 200_000)
        #expect(quiet.requests == 0 && quiet.results == 0 && quiet.errors.isEmpty)
    }

    /// Results also report each task's median time and the median transfer per invocation, which
    /// the planner learns from (docs/placement.md, "Learning from telemetry").
    @Test func resultsReportTaskTimesAndTransfers() throws {
        var recent = RecentOutcomes()
        func result(_ task: String, totalMs: Double, transfers: [Double]) -> TaskResult {
            TaskResult(
                requestID: "r", task: task, epoch: 1, outputs: [:],
                timeline: transfers.enumerated().map { index, transfer in
                    TaskTimelineEntry(
                        node: "n\(index)", module: "m", device: "d", queuedMs: 0, computeMs: 1, transferMs: transfer, startMs: 0, endMs: 2)
                },
                totalMs: totalMs, aggregator: "agg-1", completedAtMs: 1)
        }
        for (index, total) in [30.0, 10, 20].enumerated() {
            recent.result(result("classify-image", totalMs: total, transfers: [0.5, 1.5]), nowMs: 1_000 + Double(index))
        }
        recent.result(result("transcribe", totalMs: 900, transfers: [4]), nowMs: 1_010)
        let telemetry = recent.telemetry(aggregator: "agg-1", epoch: 1, inFlight: 0, nowMs: 1_100)
        #expect(telemetry.results == 4)
        #expect(telemetry.tasks == ["classify-image": .init(p50Ms: 20, count: 3), "transcribe": .init(p50Ms: 900, count: 1)])
        // Transfers 0.5, 1.5 (three times) and 4: the median of seven is 1.5.
        #expect(telemetry.transfer == .init(p50Ms: 1.5, count: 7))
        // Results per task per second over the 10 s rate window: the load the planner reads.
        #expect(telemetry.taskRates == ["classify-image": 0.3, "transcribe": 0.1])
        #expect(recent.telemetry(aggregator: "agg-1", epoch: 1, inFlight: 0, nowMs: 12_000).taskRates == [:])
        try telemetry.validate()
        #expect(try AggregatorTelemetry(json: telemetry.jsonData()) == telemetry)
    }

    @Test func memoryStaysBoundedUnderAFlood() {
        var recent = RecentOutcomes(windowSeconds: 5, rateSeconds: 1)
        for index in 0..<10_000 { recent.request(nowMs: Double(index) * 100) }
        let telemetry = recent.telemetry(aggregator: "a", epoch: nil, inFlight: 0, nowMs: 999_900)
        #expect(telemetry.requests == 50)
        #expect(telemetry.requestsPerSecond == 10)
    }
}

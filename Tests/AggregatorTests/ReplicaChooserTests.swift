import Aggregator
import S2M3Core
import Testing

@Suite("Replica chooser")
struct ReplicaChooserTests {
    static func telemetry(_ device: String, queue: Int, p50: Double, module: String = "minilm-l6", at: Int = 10) -> DeviceTelemetry {
        DeviceTelemetry(
            device: device, timestampMs: at, queueDepth: queue, queueCapacity: 16, residentMemoryBytes: 1,
            loadedModules: [module], modules: [module: .init(p50Ms: p50, count: 5)])
    }

    /// Queue depth × p50 + p50, plus the work this aggregator has outstanding there: not round-robin.
    @Test func choosesTheEarliestPredictedFinish() {
        var chooser = ReplicaChooser()
        chooser.apply(plan: AggregatorFixture.plan(epoch: 1, ["minilm-l6": ["box-a", "box-b"]]))
        chooser.apply(telemetry: Self.telemetry("box-a", queue: 3, p50: 10))  // 40 ms
        chooser.apply(telemetry: Self.telemetry("box-b", queue: 0, p50: 30))  // 30 ms
        #expect(chooser.predictedFinishMs("minilm-l6", on: "box-a") == 40)
        #expect(chooser.choose(module: "minilm-l6") == "box-b")
        chooser.dispatched(to: "box-b", workMs: 30)  // 60 ms now
        #expect(chooser.predictedFinishMs("minilm-l6", on: "box-b") == 60)
        #expect(chooser.choose(module: "minilm-l6") == "box-a")
        chooser.released(from: "box-b", workMs: 30)
        #expect(chooser.choose(module: "minilm-l6") == "box-b")
        #expect(chooser.choose(module: "minilm-l6", excluding: ["box-b"]) == "box-a")
        #expect(chooser.choose(module: "minilm-l6", excluding: ["box-a", "box-b"]) == nil)
    }

    /// This aggregator's own unanswered invocations count at the work they were sent with, not at
    /// the chosen module's time: three short jobs weigh less than one long one. Only the part of a
    /// device's reported queue that is not this aggregator's counts at the module's time.
    @Test func countsOwnWorkAtItsOwnTimes() {
        var chooser = ReplicaChooser()
        chooser.apply(plan: AggregatorFixture.plan(epoch: 1, ["effnet-lite0-trunk": ["box-a", "box-b"]]))
        chooser.apply(telemetry: Self.telemetry("box-a", queue: 0, p50: 27, module: "effnet-lite0-trunk"))
        chooser.apply(telemetry: Self.telemetry("box-b", queue: 0, p50: 27, module: "effnet-lite0-trunk"))
        for _ in 0..<3 { chooser.dispatched(to: "box-a", workMs: 0.5) }
        chooser.dispatched(to: "box-b", workMs: 27)
        #expect(chooser.predictedFinishMs("effnet-lite0-trunk", on: "box-a") == 28.5)
        #expect(chooser.predictedFinishMs("effnet-lite0-trunk", on: "box-b") == 54)
        #expect(chooser.choose(module: "effnet-lite0-trunk") == "box-a")
        // Box-a reports 5 queued, 3 of them this aggregator's: 2 others' at 27 ms each.
        chooser.apply(telemetry: Self.telemetry("box-a", queue: 5, p50: 27, module: "effnet-lite0-trunk", at: 20))
        #expect(chooser.predictedFinishMs("effnet-lite0-trunk", on: "box-a") == 82.5)
        #expect(chooser.choose(module: "effnet-lite0-trunk") == "box-b")
        // A device that counts by sender: only the other aggregator's 2 count from the report,
        // however many of its own it reported a moment ago.
        chooser.aggregator = "agg-1"
        var counted = Self.telemetry("box-a", queue: 8, p50: 27, module: "effnet-lite0-trunk", at: 30)
        counted.queuedBy = ["agg-1": 6, "agg-2": 2]
        chooser.apply(telemetry: counted)
        #expect(chooser.queuedByOthers("box-a") == 2)
        #expect(chooser.predictedFinishMs("effnet-lite0-trunk", on: "box-a") == 82.5)
        counted.queuedBy = ["agg-1": 8]
        counted.timestampMs = 40
        chooser.apply(telemetry: counted)
        #expect(chooser.predictedFinishMs("effnet-lite0-trunk", on: "box-a") == 28.5)
        for _ in 0..<3 { chooser.released(from: "box-a", workMs: 0.5) }
        #expect(chooser.outstandingWorkMs["box-a"] == nil)
        chooser.released(from: "box-b", workMs: 27)
        #expect(chooser.outstanding.isEmpty && chooser.outstandingWorkMs.isEmpty)
    }

    /// Without measurements the plan's order decides; a device without its own p50 borrows others'.
    @Test func fallsBackToThePlanOrderAndOthersMeasurements() {
        var chooser = ReplicaChooser()
        chooser.apply(plan: AggregatorFixture.plan(epoch: 1, ["minilm-l6": ["box-c", "box-a"]]))
        #expect(chooser.choose(module: "minilm-l6") == "box-c")
        chooser.apply(telemetry: Self.telemetry("box-a", queue: 0, p50: 8))
        #expect(chooser.moduleMs("minilm-l6", on: "box-c") == 8)
        chooser.dispatched(to: "box-c", workMs: 8)
        #expect(chooser.choose(module: "minilm-l6") == "box-a")
    }

    /// Offline devices are skipped; the last will of the current session counts although its
    /// timestamp is older than the session's `online`; a late will of an earlier session does not;
    /// older plans are ignored.
    @Test func followsStatesAndPlans() {
        var chooser = ReplicaChooser()
        let step1 = chooser.apply(plan: AggregatorFixture.plan(epoch: 2, ["minilm-l6": ["box-a", "box-b"]]))
        #expect(step1)
        let step2 = chooser.apply(plan: AggregatorFixture.plan(epoch: 1, ["minilm-l6": ["box-z"]]))
        #expect(!step2)
        let online = chooser.apply(state: DeviceState(device: "box-a", status: .online, session: "s1", timestampMs: 20))
        #expect(!online)
        let will = chooser.apply(state: DeviceState.lastWill(device: "box-a", session: "s1", timestampMs: 10))
        #expect(will)
        #expect(chooser.replicas(of: "minilm-l6") == ["box-b"])
        let restarted = chooser.apply(state: DeviceState(device: "box-a", status: .online, session: "s2", timestampMs: 30))
        #expect(!restarted)
        let lateWill = chooser.apply(state: DeviceState.lastWill(device: "box-a", session: "s1", timestampMs: 10))
        #expect(!lateWill)
        #expect(chooser.replicas(of: "minilm-l6") == ["box-a", "box-b"])
    }
}

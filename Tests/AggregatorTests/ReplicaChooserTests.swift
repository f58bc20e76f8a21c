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

    /// Queue depth × p50 + p50, plus what this aggregator has outstanding there: not round-robin.
    @Test func choosesTheEarliestPredictedFinish() {
        var chooser = ReplicaChooser()
        chooser.apply(plan: AggregatorFixture.plan(epoch: 1, ["minilm-l6": ["box-a", "box-b"]]))
        chooser.apply(telemetry: Self.telemetry("box-a", queue: 3, p50: 10))  // 40 ms
        chooser.apply(telemetry: Self.telemetry("box-b", queue: 0, p50: 30))  // 30 ms
        #expect(chooser.predictedFinishMs("minilm-l6", on: "box-a") == 40)
        #expect(chooser.choose(module: "minilm-l6") == "box-b")
        chooser.dispatched(to: "box-b")  // 60 ms now
        #expect(chooser.predictedFinishMs("minilm-l6", on: "box-b") == 60)
        #expect(chooser.choose(module: "minilm-l6") == "box-a")
        chooser.released(from: "box-b")
        #expect(chooser.choose(module: "minilm-l6") == "box-b")
        #expect(chooser.choose(module: "minilm-l6", excluding: ["box-b"]) == "box-a")
        #expect(chooser.choose(module: "minilm-l6", excluding: ["box-a", "box-b"]) == nil)
    }

    /// Without measurements the plan's order decides; a device without its own p50 borrows others'.
    @Test func fallsBackToThePlanOrderAndOthersMeasurements() {
        var chooser = ReplicaChooser()
        chooser.apply(plan: AggregatorFixture.plan(epoch: 1, ["minilm-l6": ["box-c", "box-a"]]))
        #expect(chooser.choose(module: "minilm-l6") == "box-c")
        chooser.apply(telemetry: Self.telemetry("box-a", queue: 0, p50: 8))
        #expect(chooser.moduleMs("minilm-l6", on: "box-c") == 8)
        chooser.dispatched(to: "box-c")
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

import Foundation
import Testing

@testable import S2M3Core

/// `ClusterStatus` folds bus messages into the snapshot `s2m3 status` shows, without a broker.
@Suite("Cluster status from bus messages")
struct ClusterStatusTests {
    let topics = Topics(root: "t/v1")
    let now = 1_767_225_600_000

    func json<Message: ControlMessage>(_ message: Message) throws -> [UInt8] { try message.jsonBytes() }

    func plan(epoch: Int = 3) -> PlanMessage {
        PlanMessage(
            epoch: epoch, createdAtMs: now - 500, algorithm: "exact", devices: ["box-1", "box-2"],
            placement: ["effnet-lite0-trunk": ["box-1"], "minilm-l6": ["box-2", "box-1"]], routes: [:],
            predictedLatencyMs: [:], objectiveMs: 1, provenOptimal: true)
    }

    func telemetry(_ device: String, p50: Double = 14.2) -> DeviceTelemetry {
        DeviceTelemetry(
            device: device, timestampMs: now, queueDepth: 1, queueCapacity: 16, residentMemoryBytes: 200 << 20,
            loadedModules: ["effnet-lite0-trunk", "minilm-l6"],
            modules: ["effnet-lite0-trunk": .init(p50Ms: p50, count: 9)], assignment: .init(epoch: 3, status: .applied))
    }

    /// A status fed the messages of a small running cluster.
    func cluster() throws -> ClusterStatus {
        var status = ClusterStatus(topics: topics)
        let taken1 = status.receive(topic: topics.plan, payload: try json(plan()), nowMs: now)
        #expect(taken1)
        for device in ["box-1", "box-2"] {
            let taken2 = status.receive(
                topic: topics.deviceState(device),
                payload: try json(DeviceState(device: device, status: .online, session: "s-\(device)", timestampMs: now - 900)), nowMs: now)
            #expect(taken2)
        }
        let taken3 = status.receive(
            topic: topics.deviceCapabilities("box-1"),
            payload: try json(DeviceCapabilities(
                device: "box-1", session: "s-box-1", memoryBudgetBytes: 264 << 20, computeGflops: 10, cores: 2, sensors: [],
                limits: .init(queueCapacity: 16, inferenceThreads: 1), softwareVersion: "0.1.0", timestampMs: now - 900)),
            nowMs: now)
        #expect(taken3)
        let taken4 = status.receive(topic: topics.deviceTelemetry("box-1"), payload: try json(telemetry("box-1")), nowMs: now - 300)
        #expect(taken4)
        let taken5 = status.receive(
            topic: topics.aggregatorState("agg-1"),
            payload: try json(ServiceState(role: .aggregator, id: "agg-1", status: .online, session: "a1", timestampMs: now - 800)),
            nowMs: now)
        #expect(taken5)
        let taken6 = status.receive(
            topic: topics.aggregatorTelemetry("agg-1"),
            payload: try json(AggregatorTelemetry(
                aggregator: "agg-1", timestampMs: now, epoch: 3, inFlight: 2, requestsPerSecond: 1.5, rateWindowMs: 10_000,
                windowMs: 60_000, requests: 20, results: 18, errors: ["overloaded": 1])),
            nowMs: now)
        #expect(taken6)
        let taken7 = status.receive(
            topic: topics.plannerState("planner"),
            payload: try json(ServiceState(role: .planner, id: "planner", status: .online, session: "p1", timestampMs: now - 950)),
            nowMs: now)
        #expect(taken7)
        let taken8 = status.receive(
            topic: topics.plannerTelemetry("planner"),
            payload: try json(PlannerTelemetry(
                planner: "planner", timestampMs: now, epoch: 3, liveDevices: ["box-1", "box-2"], replans: 2, lastSolveMs: 12.5,
                lastPlanAtMs: now - 500)),
            nowMs: now)
        #expect(taken8)
        return status
    }

    @Test func snapshotListsEveryPartWithThePlanEpoch() throws {
        let snapshot = try cluster().snapshot(nowMs: now)
        #expect(snapshot.plan?.epoch == 3)
        #expect(snapshot.devices.map(\.id) == ["box-1", "box-2"])
        let box1 = try #require(snapshot.devices.first)
        #expect(box1.status == .online && box1.memoryBudgetBytes == 264 << 20 && box1.residentMemoryBytes == 200 << 20)
        #expect(box1.assignedModules == ["effnet-lite0-trunk", "minilm-l6"])
        #expect(box1.queueDepth == 1 && box1.telemetryAgeMs == 300)
        #expect(snapshot.devices[1].assignedModules == ["minilm-l6"] && snapshot.devices[1].telemetryAgeMs == nil)
        #expect(snapshot.modules.map(\.module) == ["effnet-lite0-trunk", "minilm-l6"])
        #expect(snapshot.modules[0].p50Ms == ["box-1": 14.2])
        #expect(snapshot.modules[1].devices == ["box-2", "box-1"])
        let aggregator = try #require(snapshot.aggregators.first)
        #expect(aggregator.id == "agg-1" && aggregator.status == .online && aggregator.inFlight == 2 && aggregator.epoch == 3)
        #expect(aggregator.errors == ["overloaded": 1])
        let planner = try #require(snapshot.planners.first)
        #expect(planner.status == .online && planner.replans == 2 && planner.liveDevices == ["box-1", "box-2"])
        #expect(snapshot.ignoredMessages == 0)
        // The snapshot is what --json prints: it encodes, with its schema.
        let encoded = try JSONEncoder().encode(snapshot)
        let object = try #require(try JSONSerialization.jsonObject(with: encoded) as? [String: Any])
        #expect(object["schema"] as? String == "s2m3.cluster-status/1")
    }

    @Test func lastWillAndShutdownTakeServicesOffline() throws {
        var status = try cluster()
        let taken9 = status.receive(
            topic: topics.deviceState("box-2"),
            payload: try json(DeviceState.lastWill(device: "box-2", session: "s-box-2", timestampMs: now - 1_000)), nowMs: now)
        #expect(taken9)
        let taken10 = status.receive(
            topic: topics.aggregatorState("agg-1"),
            payload: try json(ServiceState(role: .aggregator, id: "agg-1", status: .offline, session: "a1", timestampMs: now, reason: "shutdown")),
            nowMs: now)
        #expect(taken10)
        let snapshot = status.snapshot(nowMs: now)
        #expect(snapshot.devices[1].status == .offline && snapshot.devices[1].reason == "last-will")
        #expect(snapshot.aggregators[0].status == .offline && snapshot.aggregators[0].reason == "shutdown")
        #expect(snapshot.devices[0].status == .online && snapshot.devices[0].reason == nil)
    }

    @Test func aLateWillOfAnEarlierSessionIsIgnored() throws {
        var status = try cluster()
        status.receive(
            topic: topics.deviceState("box-1"),
            payload: try json(DeviceState.lastWill(device: "box-1", session: "an-earlier-run", timestampMs: now - 5_000)), nowMs: now)
        status.receive(
            topic: topics.plannerState("planner"),
            payload: try json(ServiceState(role: .planner, id: "planner", status: .offline, session: "p0", timestampMs: now, reason: "last-will")),
            nowMs: now)
        let snapshot = status.snapshot(nowMs: now)
        #expect(snapshot.devices[0].status == .online)
        #expect(snapshot.planners[0].status == .online)
    }

    @Test func clearedRetainedStateForgetsTheService() throws {
        var status = try cluster()
        let taken11 = status.receive(topic: topics.aggregatorState("agg-1"), payload: [], nowMs: now)
        #expect(taken11)
        let taken12 = status.receive(topic: topics.plan, payload: [], nowMs: now)
        #expect(taken12)
        let snapshot = status.snapshot(nowMs: now)
        #expect(snapshot.plan == nil && snapshot.modules.isEmpty)
        #expect(snapshot.aggregators.first?.status == .unknown, "telemetry was seen, the state is gone")
    }

    @Test func errorsAreCountedByCodeAndTheLatestKept() throws {
        var status = ClusterStatus(topics: topics, recentErrorLimit: 2)
        for (index, code) in [TaskErrorCode.badInput, .overloaded, .overloaded].enumerated() {
            let error = TaskErrorMessage(requestID: "r\(index)", task: "classify-image", code: code, reason: "why", timestampMs: now + index)
            let taken13 = status.receive(topic: topics.errors("classify-image"), payload: try json(error), nowMs: now)
            #expect(taken13)
        }
        let errors = status.snapshot(nowMs: now).errors
        #expect(errors.byCode == ["bad-input": 1, "overloaded": 2])
        #expect(errors.recent.map(\.requestId) == ["r1", "r2"])
    }

    /// Garbage, forged and mismatched messages change nothing and are counted; none crashes.
    @Test func garbageIsIgnoredWithoutACrash() throws {
        var status = try cluster()
        let before = status.snapshot(nowMs: now)
        let wrongDevice = try json(DeviceState(device: "box-9", status: .offline, session: "s-box-1", timestampMs: now))
        let plannerOnAggregatorTopic = try json(ServiceState(role: .planner, id: "agg-1", status: .offline, session: "a1", timestampMs: now))
        let otherAggregator = try json(ServiceState(role: .aggregator, id: "agg-2", status: .offline, session: "a1", timestampMs: now))
        let garbage: [(String, [UInt8])] = [
            (topics.plan, Array("not json".utf8)),
            (topics.plan, Array(#"{"schema":"s2m3.plan/1","epoch":0}"#.utf8)),
            (topics.plan, Array(#"{"schema":"s2m3.plan/2"}"#.utf8)),
            (topics.deviceState("box-1"), Array(#"{"schema":"s2m3.device-state/1","device":"box-1","status":"asleep","session":"x","timestampMs":1}"#.utf8)),
            (topics.deviceState("box-1"), wrongDevice),
            (topics.deviceTelemetry("box-1"), [0xff, 0xfe, 0x00]),
            (topics.deviceTelemetry("box-1"), Array(#"{"schema":"s2m3.device-telemetry/1","device":"box-1","timestampMs":1e300}"#.utf8)),
            (topics.aggregatorState("agg-1"), plannerOnAggregatorTopic),
            (topics.aggregatorState("agg-1"), otherAggregator),
            (topics.aggregatorTelemetry("agg-1"), Array(#"{"schema":"s2m3.aggregator-telemetry/1","aggregator":"agg-1","inFlight":-1}"#.utf8)),
            (topics.plannerTelemetry("planner"), Array("[]".utf8)),
            (topics.plannerState("planner"), Array(String(repeating: "[", count: 100_000).utf8)),
            (topics.errors("x"), Array("{}".utf8)),
            (topics.deviceTelemetry("box-1"), []),
        ]
        for (topic, payload) in garbage {
            let refused = !status.receive(topic: topic, payload: payload, nowMs: now)
            #expect(refused, "\(topic): \(String(decoding: payload.prefix(80), as: UTF8.self))")
        }
        #expect(status.ignoredMessages == garbage.count)
        var after = status.snapshot(nowMs: now)
        #expect(after.ignoredMessages == garbage.count)
        after.ignoredMessages = 0
        #expect(after == before, "ignored messages changed the snapshot")
        // Topics outside what the status follows are neither taken nor counted.
        let taken14 = status.receive(topic: "elsewhere/x", payload: [1, 2, 3], nowMs: now)
        #expect(taken14)
        #expect(status.ignoredMessages == garbage.count)
    }
}

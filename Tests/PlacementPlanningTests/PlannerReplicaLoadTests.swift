import Foundation
import PlacementPlanning
import S2M3Core
import Testing

/// Replicas in the live cluster (issue 14, item 3): the task rates aggregators measure make the
/// planner add a replica of a hot shared module where memory allows, and drop it once the load
/// has fallen.
@Suite("Planner replicas from measured load")
struct PlannerReplicaLoadTests {
    /// Tasks `t1` and `t2` both run `enc` (1 GFLOP: 10 ms at 100 GFLOP/s), which fits on either of
    /// two devices; declared rates 0.
    static let instance = instance(gflop: 1)

    static func instance(gflop: Double) -> PlacementInstance {
        let json = """
            {"devices": [{"id": "template", "memoryBytes": 1, "gflops": 1, "link": {"bandwidthMbps": 1000, "latencyMs": 1}}],
             "modules": [{"id": "enc", "memoryBytes": 100000000, "gflop": \(gflop), "outputBytes": 1000}],
             "tasks": [{"id": "t1", "rate": 0, "inputs": [{"id": "in", "bytes": 1000}], "nodes": [{"id": "e", "module": "enc", "inputs": ["in"]}]},
                       {"id": "t2", "rate": 0, "inputs": [{"id": "in", "bytes": 1000}], "nodes": [{"id": "e", "module": "enc", "inputs": ["in"]}]}]}
            """
        return try! PlacementInstance(json: Data(json.utf8))
    }

    /// An aggregator's report of `rates`, each task's results taking `p50Ms` (none: not reported).
    static func load(at ms: Int, _ rates: [String: Double], p50Ms: Double? = nil) -> PlannerStateMachine.Event {
        .aggregatorTelemetry(AggregatorTelemetry(
            aggregator: "agg", timestampMs: ms, epoch: 1, inFlight: 0, requestsPerSecond: rates.values.reduce(0, +), rateWindowMs: 10_000,
            windowMs: 60_000, requests: 0, results: 0, errors: [:],
            tasks: p50Ms.map { p50 in rates.mapValues { _ in MeasuredTiming(p50Ms: p50, count: 100) } }, taskRates: rates))
    }

    /// A planner with devices `a` and `b` online (nothing planned yet).
    static func twoDevices(_ instance: PlacementInstance = instance) -> PlannerStateMachine {
        var machine = PlannerStateMachine(instance: instance)
        PlannerStateMachineTests.join(&machine, "a")
        PlannerStateMachineTests.join(&machine, "b")
        return machine
    }

    @Test func aHotSharedModuleGetsAReplicaAndLosesItWhenTheLoadFalls() throws {
        var machine = Self.twoDevices()
        let first = try #require(PlannerStateMachineTests.plan(machine.plan(nowMs: 1)))
        #expect(first.placement["enc"]?.count == 1, "no load, no replica: \(first.placement)")

        // 40 requests/s of each task: one device would be 80 % busy with enc.
        machine.handle(Self.load(at: 1_000, ["t1": 40, "t2": 40]))
        #expect(machine.learned.taskRates == ["t1": 40, "t2": 40])
        #expect(machine.needsPlan)
        let hot = try #require(PlannerStateMachineTests.plan(machine.plan(nowMs: 1_100)))
        #expect(hot.placement["enc"] == ["a", "b"], "\(hot.placement)")
        #expect(!hot.moves.isEmpty)
        #expect(hot.predictedLatencyMs.values.allSatisfy { $0 < first.predictedLatencyMs.values.max()! * 2 })

        // A light load (under LearnedCosts.hotRate) counts as none: within the interval nothing
        // moves; after it the replica is unloaded.
        machine.handle(Self.load(at: 2_000, ["t1": 0.2, "t2": 0.1]))
        #expect(machine.learned.taskRates.isEmpty)
        #expect(PlannerStateMachineTests.plan(machine.plan(nowMs: 2_100)) == nil)
        machine.handle(Self.load(at: 40_000, ["t1": 0.2, "t2": 0.1]))
        let cool = try #require(PlannerStateMachineTests.plan(machine.plan(nowMs: 40_100)))
        #expect(cool.placement["enc"]?.count == 1, "\(cool.placement)")
    }

    /// A load far past what the devices compute (2,000 requests/s of 10 ms each on two devices,
    /// planned at 70 % of their summed speed) cannot be carried by one copy of the module, which
    /// the solver needs before it adds replicas: it is planned as light, and every task stays
    /// served (the overload is admission control's to answer).
    @Test func anOverloadNeverDropsATask() throws {
        var machine = Self.twoDevices()
        _ = try #require(PlannerStateMachineTests.plan(machine.plan(nowMs: 1)))
        machine.handle(Self.load(at: 1_000, ["t1": 1_000, "t2": 1_000]))
        let plan = try #require(PlannerStateMachineTests.plan(machine.plan(nowMs: 1_100)))
        #expect(plan.unavailableTasks?.isEmpty ?? true, "\(plan.unavailableTasks ?? [:])")
        #expect(Set(plan.predictedLatencyMs.keys) == ["t1", "t2"])
    }

    /// One-at-a-time use (below the hot rate) plans exactly as with no rates at all.
    @Test func aLightLoadChangesNothing() throws {
        var machine = Self.twoDevices()
        _ = try #require(PlannerStateMachineTests.plan(machine.plan(nowMs: 1)))
        machine.handle(Self.load(at: 1_000, ["t1": 0.4, "t2": 0.4]))
        #expect(!machine.needsPlan)
    }

    /// Slow tasks sent concurrently (issue 14's all-task throughput): each task's rate is under the
    /// hot rate, but 0.4 requests/s each of 2 s results hold 1.6 requests in flight (Little's law),
    /// so the rates count and the 1 s module gets a replica; the same rates one at a time (1 s
    /// results, 0.8 in flight) change nothing.
    @Test func slowTasksSentConcurrentlyCountAtALowRate() throws {
        let heavy = Self.instance(gflop: 100)
        var overlapping = Self.twoDevices(heavy)
        let first = try #require(PlannerStateMachineTests.plan(overlapping.plan(nowMs: 1)))
        #expect(first.placement["enc"]?.count == 1, "\(first.placement)")
        var oneAtATime = overlapping

        overlapping.handle(Self.load(at: 1_000, ["t1": 0.4, "t2": 0.4], p50Ms: 2_000))
        #expect(overlapping.learned.taskRates == ["t1": 0.4, "t2": 0.4])
        let hot = try #require(PlannerStateMachineTests.plan(overlapping.plan(nowMs: 1_100)))
        #expect(hot.placement["enc"] == ["a", "b"], "\(hot.placement)")

        oneAtATime.handle(Self.load(at: 1_000, ["t1": 0.4, "t2": 0.4], p50Ms: 1_000))
        #expect(oneAtATime.learned.taskRates.isEmpty)
        #expect(!oneAtATime.needsPlan)
    }
}

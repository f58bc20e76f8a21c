import Foundation
import PlacementPlanning
import S2M3Core
import Testing

@Suite("Planner state machine")
struct PlannerStateMachineTests {
    /// Three 100 MB modules in three single-node tasks; the instance's one device only lends its link.
    static let instance: PlacementInstance = {
        let json = """
            {"devices": [{"id": "template", "memoryBytes": 1, "gflops": 1, "link": {"bandwidthMbps": 1000, "latencyMs": 1}}],
             "modules": [{"id": "m1", "memoryBytes": 100000000, "gflop": 40, "outputBytes": 1000},
                         {"id": "m2", "memoryBytes": 100000000, "gflop": 40, "outputBytes": 1000},
                         {"id": "m3", "memoryBytes": 100000000, "gflop": 40, "outputBytes": 1000}],
             "tasks": [{"id": "t1", "rate": 1, "nodes": [{"id": "n", "module": "m1"}]},
                       {"id": "t2", "rate": 1, "nodes": [{"id": "n", "module": "m2"}]},
                       {"id": "t3", "rate": 1, "nodes": [{"id": "n", "module": "m3"}]}]}
            """
        return try! PlacementInstance(json: Data(json.utf8))
    }()

    static func join(_ machine: inout PlannerStateMachine, _ device: String, session: String = "s1", memory: Int = 250_000_000) {
        machine.handle(.capabilities(DeviceCapabilities(
            device: device, session: session, memoryBudgetBytes: memory, computeGflops: 100, cores: 2, sensors: [],
            limits: .init(queueCapacity: 4, inferenceThreads: 1), softwareVersion: "test", timestampMs: 1)))
        machine.handle(.state(DeviceState(device: device, status: .online, session: session, timestampMs: 1)))
    }

    static func plan(_ actions: [PlannerStateMachine.Action]) -> PlanMessage? {
        for case .publishPlan(let plan) in actions { return plan }
        return nil
    }

    static func assignments(_ actions: [PlannerStateMachine.Action]) -> [DeviceAssignment] {
        actions.compactMap { if case .publishAssignment(let a) = $0 { a } else { nil } }
    }

    @Test func joinThenLeaveKeepsModulesWhoseDeviceRemains() throws {
        var machine = PlannerStateMachine(instance: Self.instance)
        let empty = machine.plan(nowMs: 5)
        // No device yet: a valid plan saying that no task can run, and why.
        let none = try #require(Self.plan(empty))
        try none.validate()
        #expect(none.devices.isEmpty && none.placement.isEmpty)
        #expect(none.unavailableTasks?.keys.sorted() == ["t1", "t2", "t3"])
        for device in ["a", "b", "c"] { Self.join(&machine, device) }
        let first = machine.plan(nowMs: 10)
        let plan1 = try #require(Self.plan(first))
        #expect(plan1.devices == ["a", "b", "c"])
        #expect(Set(plan1.placement.keys) == ["m1", "m2", "m3"])
        #expect(Self.assignments(first).map(\.device) == ["a", "b", "c"])
        #expect(Self.assignments(first).allSatisfy { $0.epoch == plan1.epoch })
        try plan1.validate()

        let leaving = try #require(plan1.placement["m1"]?.first)
        let changed = machine.handle(.state(DeviceState.lastWill(device: leaving, session: "s1", timestampMs: 20)))
        #expect(changed)
        let second = machine.plan(nowMs: 30)
        let plan2 = try #require(Self.plan(second))
        try plan2.validate()
        #expect(plan2.epoch == plan1.epoch + 1)
        #expect(plan2.previousEpoch == plan1.epoch)
        #expect(!plan2.devices.contains(leaving))
        #expect(Set(plan2.placement.keys) == ["m1", "m2", "m3"])
        for (module, hosts) in plan1.placement {
            for host in hosts where host != leaving {
                #expect(plan2.placement[module]?.contains(host) == true, "\(module) left \(host)")
            }
        }
        #expect(plan2.moves.contains { $0.module == "m1" && $0.action == .load })
        #expect(Set(Self.assignments(second).map(\.device)) == Set(plan2.devices))
        #expect(second.last == .clearAssignment(device: leaving))
    }

    @Test func unchangedDeviceSetDoesNotReplan() throws {
        var machine = PlannerStateMachine(instance: Self.instance)
        for device in ["a", "b"] { Self.join(&machine, device) }
        let plan1 = try #require(Self.plan(machine.plan(nowMs: 10)))
        // The same announcements again (e.g. a reconnect that republishes them): nothing to do.
        Self.join(&machine, "a")
        #expect(machine.needsPlan == false)
        let none1 = machine.plan(nowMs: 20)
        #expect(none1.isEmpty)
        // A late will of an earlier session does not take the current session offline.
        let lateWill = machine.handle(.state(DeviceState.lastWill(device: "b", session: "old", timestampMs: 0)))
        #expect(lateWill == false)
        let none2 = machine.plan(nowMs: 30)
        #expect(none2.isEmpty)
        #expect(machine.currentPlan?.epoch == plan1.epoch)
        // A changed memory budget is a change.
        Self.join(&machine, "b", session: "s2", memory: 400_000_000)
        #expect(machine.needsPlan)
        let replanned = machine.plan(nowMs: 40)
        #expect(Self.plan(replanned)?.epoch == plan1.epoch + 1)
    }

    @Test func restartWithRetainedPlanOfLiveDevicesCausesNoChurn() throws {
        var before = PlannerStateMachine(instance: Self.instance)
        for device in ["a", "b", "c"] { Self.join(&before, device) }
        _ = before.plan(nowMs: 10)
        Self.join(&before, "d")
        let retained = try #require(Self.plan(before.plan(nowMs: 20)))
        #expect(retained.epoch == 2)

        var after = PlannerStateMachine(instance: Self.instance)
        after.handle(.retainedPlan(retained))
        for device in ["d", "c", "b", "a"] { Self.join(&after, device) }
        #expect(after.needsPlan == false)
        let none3 = after.plan(nowMs: 30)
        #expect(none3.isEmpty)
        #expect(after.currentPlan == retained)

        // The next change continues the numbering and keeps the retained placement.
        after.handle(.state(DeviceState(device: "d", status: .offline, session: "s1", timestampMs: 40, reason: "shutdown")))
        let next = try #require(Self.plan(after.plan(nowMs: 50)))
        #expect(next.epoch == 3)
        for (module, hosts) in retained.placement {
            for host in hosts where host != "d" { #expect(next.placement[module]?.contains(host) == true) }
        }
    }

    @Test func restartWithRetainedPlanOfOtherDevicesReplans() throws {
        var before = PlannerStateMachine(instance: Self.instance)
        for device in ["a", "b"] { Self.join(&before, device) }
        let retained = try #require(Self.plan(before.plan(nowMs: 10)))
        var after = PlannerStateMachine(instance: Self.instance)
        after.handle(.retainedPlan(retained))
        Self.join(&after, "a")
        let plan = try #require(Self.plan(after.plan(nowMs: 20)))
        #expect(plan.epoch == retained.epoch + 1)
        #expect(plan.devices == ["a"])
    }
}

@Suite("Planner drift re-planning")
struct PlannerDriftTests {
    static func telemetry(_ device: String, at ms: Int, p50Ms: Double, count: Int = 10) -> PlannerStateMachine.Event {
        .telemetry(DeviceTelemetry(
            device: device, timestampMs: ms, queueDepth: 0, queueCapacity: 4, residentMemoryBytes: 1,
            loadedModules: ["m1"], modules: ["m1": .init(p50Ms: p50Ms, count: count)]))
    }

    /// Speed calibration alone: learning module costs (PlannerLearningTests) is off here.
    static func planned() -> PlannerStateMachine {
        var machine = PlannerStateMachine(instance: PlannerStateMachineTests.instance)
        machine.learning.enabled = false
        for device in ["a", "b", "c"] { PlannerStateMachineTests.join(&machine, device) }
        _ = machine.plan(nowMs: 1)
        return machine
    }

    /// m1 is 40 GFLOP and devices announce 100 GFLOP/s: 400 ms is exactly as predicted.
    @Test func measuredSpeedWithinThresholdNeverReplans() {
        var machine = Self.planned()
        for (i, ms) in [400.0, 300, 550, 420].enumerated() {
            #expect(machine.handle(Self.telemetry("a", at: 1_000 * (i + 1), p50Ms: ms)) == false)
        }
        do { let changed = machine.handle(Self.telemetry("a", at: 9_000, p50Ms: 4_000, count: 2)); #expect(changed == false) }  // too few samples
        #expect(machine.plan(nowMs: 10_000).isEmpty)
        #expect(machine.calibratedGflops.isEmpty)
    }

    @Test func driftPastThresholdReplansOnceAndDoesNotFlap() throws {
        var machine = Self.planned()
        let epoch = try #require(machine.currentPlan?.epoch)
        // Device a is 4× slower than announced: 1600 ms for 40 GFLOP = 25 GFLOP/s.
        do { let changed = machine.handle(Self.telemetry("a", at: 1_000, p50Ms: 1_600)); #expect(changed) }
        let replanned = try #require(PlannerStateMachineTests.plan(machine.plan(nowMs: 1_100)))
        #expect(replanned.epoch == epoch + 1)
        #expect(machine.calibratedGflops["a"] == 25)
        // The same measurement again: nothing new.
        do { let changed = machine.handle(Self.telemetry("a", at: 2_000, p50Ms: 1_600)); #expect(changed == false) }
        // Back to fast within the interval: ignored, no flapping.
        do { let changed = machine.handle(Self.telemetry("a", at: 3_000, p50Ms: 400)); #expect(changed == false) }
        #expect(machine.plan(nowMs: 3_100).isEmpty)
        // After the interval a lasting change is taken.
        do { let changed = machine.handle(Self.telemetry("a", at: 40_000, p50Ms: 400)); #expect(changed) }
        #expect(PlannerStateMachineTests.plan(machine.plan(nowMs: 40_100))?.epoch == epoch + 2)
    }

    @Test func newSessionForgetsCalibration() {
        var machine = Self.planned()
        machine.handle(Self.telemetry("a", at: 1_000, p50Ms: 1_600))
        #expect(machine.calibratedGflops["a"] != nil)
        PlannerStateMachineTests.join(&machine, "a", session: "s2")
        #expect(machine.calibratedGflops["a"] == nil)
    }
}

import Foundation
import PlacementPlanning
import S2M3Core
import Testing

/// Re-planning after a device leaves: modules stay where they were when that still serves every
/// task; when it does not, the planner solves afresh rather than give up a task, and the plan's
/// moves list exactly the copies that change.
@Suite("Planner re-plan when kept modules block a task")
struct PlannerReplanTests {
    /// Three single-module tasks: a and c 45 MB, b 60 MB; devices of 100 MB.
    static let instance: PlacementInstance = {
        let json = """
            {"devices": [{"id": "template", "memoryBytes": 1, "gflops": 1, "link": {"bandwidthMbps": 1000, "latencyMs": 1}}],
             "modules": [{"id": "a", "memoryBytes": 45000000, "gflop": 0.1, "outputBytes": 1000},
                         {"id": "b", "memoryBytes": 60000000, "gflop": 0.1, "outputBytes": 1000},
                         {"id": "c", "memoryBytes": 45000000, "gflop": 0.1, "outputBytes": 1000}],
             "tasks": [{"id": "ta", "rate": 0.1, "nodes": [{"id": "n", "module": "a"}]},
                       {"id": "tb", "rate": 0.1, "nodes": [{"id": "n", "module": "b"}]},
                       {"id": "tc", "rate": 0.1, "nodes": [{"id": "n", "module": "c"}]}]}
            """
        return try! PlacementInstance(json: Data(json.utf8))
    }()

    static func join(_ machine: inout PlannerStateMachine, _ device: String) {
        machine.handle(.capabilities(DeviceCapabilities(
            device: device, session: "s1", memoryBudgetBytes: 100_000_000, computeGflops: 100, cores: 2, sensors: [],
            limits: .init(queueCapacity: 4, inferenceThreads: 1), softwareVersion: "test", timestampMs: 1)))
        machine.handle(.state(DeviceState(device: device, status: .online, session: "s1", timestampMs: 1)))
    }

    @Test func keptModulesThatBlockATaskAreMovedInsteadOfDroppingIt() throws {
        var machine = PlannerStateMachine(instance: Self.instance)
        // The plan before d3 left: a on d1, c on d2, b on d3. Kept as it is, b (60 MB) fits on
        // neither d1 nor d2 (55 MB free each); afresh, a and c share one device and b takes the other.
        machine.handle(.retainedPlan(PlanMessage(
            epoch: 4, createdAtMs: 1, algorithm: "auto", devices: ["d1", "d2", "d3"],
            placement: ["a": ["d1"], "b": ["d3"], "c": ["d2"]],
            routes: ["ta": ["n": ["d1"]], "tb": ["n": ["d3"]], "tc": ["n": ["d2"]]],
            predictedLatencyMs: ["ta": 1, "tb": 1, "tc": 1], objectiveMs: 1, provenOptimal: true)))
        Self.join(&machine, "d1")
        Self.join(&machine, "d2")
        let plan = try #require(machine.plan(nowMs: 2).compactMap { if case .publishPlan(let p) = $0 { p } else { nil } }.first)
        try plan.validate()
        #expect(plan.epoch == 5)
        #expect(plan.unavailableTasks == nil)
        #expect(Set(plan.routes.keys) == ["ta", "tb", "tc"])
        let hostsOfB = try #require(plan.placement["b"])
        #expect(hostsOfB.count == 1)
        // a and c share the device b is not on.
        let other = hostsOfB == ["d1"] ? "d2" : "d1"
        #expect(plan.placement["a"] == [other] && plan.placement["c"] == [other])
        // Moves: b loaded; one of a or c loaded on the other device and unloaded from b's.
        let loads = plan.moves.filter { $0.action == .load }.map { "\($0.module)@\($0.device)" }
        let unloads = plan.moves.filter { $0.action == .unload }.map { "\($0.module)@\($0.device)" }
        #expect(loads.contains("b@\(hostsOfB[0])"))
        #expect(loads.count == 2 && unloads.count == 1)
    }

    @Test func keptModulesThatStillServeEveryTaskStayPut() throws {
        var machine = PlannerStateMachine(instance: Self.instance)
        machine.handle(.retainedPlan(PlanMessage(
            epoch: 2, createdAtMs: 1, algorithm: "auto", devices: ["d1", "d2", "d3"],
            placement: ["a": ["d1"], "b": ["d2"], "c": ["d3"]],
            routes: ["ta": ["n": ["d1"]], "tb": ["n": ["d2"]], "tc": ["n": ["d3"]]],
            predictedLatencyMs: ["ta": 1, "tb": 1, "tc": 1], objectiveMs: 1, provenOptimal: true)))
        Self.join(&machine, "d1")
        Self.join(&machine, "d2")
        let plan = try #require(machine.plan(nowMs: 2).compactMap { if case .publishPlan(let p) = $0 { p } else { nil } }.first)
        try plan.validate()
        #expect(plan.placement["a"] == ["d1"])
        #expect(plan.placement["b"] == ["d2"])
        #expect(plan.placement["c"] == ["d1"])  // only c, whose device left, is placed again
        #expect(plan.moves == [PlanMessage.Move(module: "c", device: "d1", action: .load)])
    }
}

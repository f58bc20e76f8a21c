import Foundation
import PlacementPlanning
import S2M3Core
import Testing

/// A device's own footprint (`baseMemoryBytes` of its capabilities) is part of its budget: the
/// planner places at most the budget less the base on it.
@Suite("Planner: device base memory")
struct PlannerBaseMemoryTests {
    static func join(_ machine: inout PlannerStateMachine, _ device: String, budget: Int, base: Int?) {
        machine.handle(.capabilities(DeviceCapabilities(
            device: device, session: "s1", memoryBudgetBytes: budget, baseMemoryBytes: base, computeGflops: 100, cores: 2, sensors: [],
            limits: .init(queueCapacity: 4, inferenceThreads: 1), softwareVersion: "test", timestampMs: 1)))
        machine.handle(.state(DeviceState(device: device, status: .online, session: "s1", timestampMs: 1)))
    }

    @Test func theBudgetLessTheBaseIsWhatModulesGet() throws {
        var machine = PlannerStateMachine(instance: PlannerStateMachineTests.instance)
        Self.join(&machine, "a", budget: 250_000_000, base: 60_000_000)
        #expect(machine.liveDevices.map(\.memoryBytes) == [190_000_000])
    }

    /// Three 100 MB modules on one 250 MB device: two fit without a base; with a 60 MB base only one does.
    @Test func aBaseThatLeavesRoomForOneModulePlacesOne() throws {
        for (base, placed) in [(nil, 2), (60_000_000 as Int?, 1)] {
            var machine = PlannerStateMachine(instance: PlannerStateMachineTests.instance)
            Self.join(&machine, "a", budget: 250_000_000, base: base)
            let actions = machine.plan(nowMs: 10)
            let plan = try #require(PlannerStateMachineTests.plan(actions))
            try plan.validate()
            #expect(plan.placement.count == placed, "base \(base ?? 0): \(plan.placement)")
            let assigned = try #require(PlannerStateMachineTests.assignments(actions).first).totalMemoryBytes
            #expect(assigned > 0 && assigned <= 250_000_000 - (base ?? 0))
        }
    }
}

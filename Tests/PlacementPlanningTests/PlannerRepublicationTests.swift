import PlacementPlanning
import S2M3Core
import Testing

/// Issue 10, item 6: after a reconnect the planner publishes again what it owns (the broker may
/// have restarted without its retained messages): the same plan and the same-epoch assignments.
@Suite("Planner state machine: republication")
struct PlannerRepublicationTests {
    @Test func republishesTheCurrentPlanAndItsAssignmentsUnchanged() throws {
        var machine = PlannerStateMachine(instance: PlannerStateMachineTests.instance)
        #expect(machine.republication(nowMs: 1).isEmpty, "nothing is owned before the first plan")
        for device in ["a", "b"] { PlannerStateMachineTests.join(&machine, device) }
        let first = machine.plan(nowMs: 10)
        let plan = try #require(PlannerStateMachineTests.plan(first))
        let again = machine.republication(nowMs: 500)
        #expect(PlannerStateMachineTests.plan(again) == plan, "the same plan, same epoch")
        let assignments = PlannerStateMachineTests.assignments(again)
        #expect(assignments.map(\.device) == ["a", "b"])
        #expect(assignments.map(\.modules) == PlannerStateMachineTests.assignments(first).map(\.modules))
        #expect(assignments.allSatisfy { $0.epoch == plan.epoch && $0.timestampMs == 500 })
        #expect(machine.plan(nowMs: 600).isEmpty, "republishing is not a new decision")
    }
}

import Foundation
import PlacementPlanning
import S2M3Core
import Testing

/// Devices are known only from what they may say: an event counts only on the topic of the device
/// it names, a stale or forged `offline` of another session cannot evict the live one, and a
/// ghost leaves when its retained state is cleared.
@Suite("Planner state machine: device identity")
struct PlannerDeviceIdentityTests {
    typealias Fixture = PlannerStateMachineTests

    static func capabilities(_ device: String, session: String = "s1") -> DeviceCapabilities {
        DeviceCapabilities(
            device: device, session: session, memoryBudgetBytes: 250_000_000, computeGflops: 100, cores: 2, sensors: [],
            limits: .init(queueCapacity: 4, inferenceThreads: 1), softwareVersion: "test", timestampMs: 1)
    }

    @Test func aPayloadNamingAnotherDeviceIsRejected() throws {
        var machine = PlannerStateMachine(instance: Fixture.instance)
        Fixture.join(&machine, "box-1")
        _ = machine.plan(nowMs: 1)
        // box-2's topics carrying box-1's offline state, or a ghost's capabilities: nothing recorded.
        let forged = DeviceState.lastWill(device: "box-1", session: "s1", timestampMs: 2)
        #expect(machine.handle(.state(forged), fromTopicOf: "box-2") == nil)
        #expect(machine.handle(.capabilities(Self.capabilities("ghost")), fromTopicOf: "box-2") == nil)
        #expect(machine.handle(.state(DeviceState(device: "ghost", status: .online, session: "s1", timestampMs: 2)), fromTopicOf: "box-2") == nil)
        #expect(machine.liveDevices.map(\.id) == ["box-1"])
        #expect(!machine.needsPlan)
        // The same offline on box-1's own topic counts.
        #expect(machine.handle(.state(forged), fromTopicOf: "box-1") == true)
        #expect(machine.liveDevices.isEmpty)
    }

    @Test func eventsOnTheirOwnTopicCountAsBefore() throws {
        var machine = PlannerStateMachine(instance: Fixture.instance)
        #expect(machine.handle(.capabilities(Self.capabilities("box-1")), fromTopicOf: "box-1") != nil)
        #expect(machine.handle(.state(DeviceState(device: "box-1", status: .online, session: "s1", timestampMs: 1)), fromTopicOf: "box-1") == true)
        #expect(machine.liveDevices.map(\.id) == ["box-1"])
    }

    @Test func anOfflineOfAnotherSessionDoesNotEvictTheLiveDevice() throws {
        var machine = PlannerStateMachine(instance: Fixture.instance)
        Fixture.join(&machine, "box-1", session: "live")
        _ = machine.plan(nowMs: 1)
        let stale = DeviceState.lastWill(device: "box-1", session: "earlier-run", timestampMs: 5)
        #expect(machine.handle(.state(stale), fromTopicOf: "box-1") == false)
        #expect(machine.liveDevices.map(\.id) == ["box-1"])
    }

    @Test func aGhostLeavesThePlanWhenItsRetainedStateIsCleared() throws {
        var machine = PlannerStateMachine(instance: Fixture.instance)
        Fixture.join(&machine, "box-1")
        Fixture.join(&machine, "ghost")
        let first = try #require(Fixture.plan(machine.plan(nowMs: 1)))
        #expect(first.devices == ["box-1", "ghost"])
        #expect(machine.handle(.stateCleared(device: "ghost"), fromTopicOf: "ghost") == true)
        let actions = machine.plan(nowMs: 2)
        let second = try #require(Fixture.plan(actions))
        #expect(second.devices == ["box-1"])
        #expect(!second.placement.values.contains { $0.contains("ghost") })
        #expect(actions.contains(.clearAssignment(device: "ghost")))
        // Its capabilities went with it: an online state alone does not bring it back.
        machine.handle(.state(DeviceState(device: "ghost", status: .online, session: "s1", timestampMs: 3)))
        #expect(machine.liveDevices.map(\.id) == ["box-1"])
    }
}

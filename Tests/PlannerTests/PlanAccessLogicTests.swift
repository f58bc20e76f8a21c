import Foundation
import S2M3Core
import Testing

@testable import Planner

/// The commands that keep the devices' grants in step with the plan (pure logic; the broker side
/// is PlannerAccessTests).
@Suite("Planner access: grants from the plan")
struct PlanAccessLogicTests {
    static let topics = Topics()

    static func plan(_ placement: [String: [String]], devices: [String]) -> PlanMessage {
        PlanMessage(
            epoch: 1, createdAtMs: 1, algorithm: "auto", devices: devices, placement: placement, routes: [:],
            predictedLatencyMs: [:], objectiveMs: 1, provenOptimal: true)
    }

    /// An access that read box-1 holding a and box-2 holding c from the plugin.
    static func known() -> PlanAccess {
        var access = PlanAccess(topics: topics)
        let reads = access.readCommands(for: ["box-1": [], "box-2": []])
        #expect(reads.map(\.command) == ["getRole", "getRole"] && reads.map(\.rolename) == ["s2m3-invoke-box-1", "s2m3-invoke-box-2"])
        func role(_ device: String, _ module: String) -> DynamicSecurityResponse {
            DynamicSecurityResponse(
                command: "getRole",
                data: .init(role: .init(acls: [
                    .init(acltype: "publishClientReceive", topic: topics.moduleInvoke(module: module, device: device), allow: true),
                    // Neither another device's topic nor a denial counts as a grant.
                    .init(acltype: "publishClientReceive", topic: topics.moduleInvoke(module: "x", device: "box-9"), allow: true),
                    .init(acltype: "publishClientReceive", topic: topics.moduleInvoke(module: "y", device: device), allow: false),
                ])))
        }
        #expect(access.learn(reads, [role("box-1", "a"), role("box-2", "c")]).isEmpty)
        #expect(access.granted == ["box-1": ["a"], "box-2": ["c"]])
        return access
    }

    @Test func hostedListsEveryDeviceOfThePlan() {
        let plan = Self.plan(["a": ["box-1", "box-2"], "b": ["box-2"]], devices: ["box-1", "box-2", "box-3"])
        #expect(PlanAccess.hosted(by: plan) == ["box-1": ["a"], "box-2": ["a", "b"], "box-3": []])
    }

    @Test func grantsWidenBeforeThePlanAndNarrowAfter() {
        var access = Self.known()
        // c moves from box-2 to box-1, b goes to box-2.
        let target: [String: Set<String>] = ["box-1": ["a", "c"], "box-2": ["b"]]
        #expect(access.widened(target) == ["box-1": ["a", "c"], "box-2": ["b", "c"]])
        let before = access.changeCommands(to: access.widened(target))
        #expect(before.map(\.command) == ["addRoleACL", "addRoleACL"])
        #expect(before.map(\.topic) == [Self.topics.moduleInvoke(module: "c", device: "box-1"), Self.topics.moduleInvoke(module: "b", device: "box-2")])
        #expect(before.allSatisfy { $0.acltype == "publishClientReceive" && $0.allow == true })
        #expect(access.applied(before, before.map { _ in DynamicSecurityResponse(command: "addRoleACL") }).isEmpty)
        #expect(access.granted == ["box-1": ["a", "c"], "box-2": ["b", "c"]])

        let after = access.changeCommands(to: access.narrowed(target))
        #expect(after.map(\.command) == ["removeRoleACL"])
        #expect(after.first?.topic == Self.topics.moduleInvoke(module: "c", device: "box-2"))
        #expect(access.applied(after, [DynamicSecurityResponse(command: "removeRoleACL")]).isEmpty)
        #expect(access.granted == ["box-1": ["a", "c"], "box-2": ["b"]])
        // In step: nothing more to send, so no device is kicked again.
        #expect(access.changeCommands(to: access.narrowed(target)).isEmpty)
    }

    @Test func aDeviceThatLeftThePlanLosesItsGrants() {
        let access = Self.known()
        let target: [String: Set<String>] = ["box-1": ["a", "c"]]
        #expect(access.narrowed(target) == ["box-1": ["a", "c"], "box-2": []])
        let commands = access.changeCommands(to: access.narrowed(target))
        #expect(commands.map(\.command) == ["addRoleACL", "removeRoleACL"])
    }

    @Test func refusalsAreReadAgainAndUnknownRolesLeftAlone() {
        var access = Self.known()
        let commands = access.changeCommands(to: ["box-1": [], "box-2": ["c"]])
        #expect(access.applied(commands, [DynamicSecurityResponse(command: "removeRoleACL", error: "Role not found")]).count == 1)
        #expect(access.granted["box-1"] == nil)
        #expect(access.readCommands(for: ["box-1": [], "box-2": ["c"]]).map(\.rolename) == ["s2m3-invoke-box-1"])

        // A device that is no plugin client: its role does not exist; it is not asked again.
        var fresh = PlanAccess(topics: Self.topics)
        let reads = fresh.readCommands(for: ["cam-1": ["a"]])
        #expect(fresh.learn(reads, [DynamicSecurityResponse(command: "getRole", error: "Role not found")]).count == 1)
        #expect(fresh.readCommands(for: ["cam-1": ["a"]]).isEmpty)
        #expect(fresh.knows(["cam-1": ["a"]]))
        #expect(fresh.changeCommands(to: ["cam-1": ["a"]]).isEmpty)
    }
}

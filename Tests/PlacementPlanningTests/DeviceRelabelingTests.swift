import Foundation
@testable import PlacementPlanning
import Testing

/// A fresh solve on alike devices keeps what each device held (``DeviceRelabeling``): the same
/// placement with alike devices renamed, so a re-plan does not load every module anew.
@Suite("Alike devices keep their modules")
struct DeviceRelabelingTests {
    /// Two modules of 10 GFLOP that do not fit together on one device; one task each.
    static func instance(speedOfB: Double, memory: Int = 150, rateOfT2: Double = 1) -> PlacementInstance {
        let json = """
            {"devices": [{"id": "a", "memoryBytes": \(memory), "gflops": 100, "link": {"bandwidthMbps": 1000, "latencyMs": 1}},
                         {"id": "b", "memoryBytes": \(memory), "gflops": \(speedOfB), "link": {"bandwidthMbps": 1000, "latencyMs": 1}}],
             "modules": [{"id": "m1", "memoryBytes": 100, "gflop": 10, "outputBytes": 1000},
                         {"id": "m2", "memoryBytes": 100, "gflop": 10, "outputBytes": 1000}],
             "tasks": [{"id": "t1", "rate": 1, "inputs": [{"id": "in", "bytes": 1000}], "nodes": [{"id": "n", "module": "m1", "inputs": ["in"]}]},
                       {"id": "t2", "rate": \(rateOfT2), "inputs": [{"id": "in", "bytes": 1000}], "nodes": [{"id": "n", "module": "m2", "inputs": ["in"]}]}]}
            """
        return try! PlacementInstance(json: Data(json.utf8))
    }

    @Test func aMirroredPlacementIsRenamedBack() throws {
        let instance = Self.instance(speedOfB: 100)
        let fresh = try Placement.solve(instance, algorithm: .exact).placement
        let m1 = try #require(fresh.hosts["m1"]?.first), m2 = try #require(fresh.hosts["m2"]?.first)
        #expect(m1 != m2)
        // The previous plan held them the other way round.
        let previous = ["m1": [m2], "m2": [m1]]
        let kept = DeviceRelabeling.relabeled(fresh, toKeep: previous, devices: instance.devices)
        #expect(kept.hosts == previous)
        #expect(kept.routes["t1"]?["n"] == m2 && kept.routes["t2"]?["n"] == m1, "\(kept.routes)")
        #expect(kept.objectiveSeconds == fresh.objectiveSeconds)
        #expect(PlannerStateMachine.moves(from: previous, to: kept.hosts).isEmpty)
        #expect(PlannerStateMachine.moves(from: previous, to: fresh.hosts).count == 4, "2 loads and 2 unloads without renaming")
    }

    @Test func devicesThatDifferAreNeverRenamed() throws {
        let instance = Self.instance(speedOfB: 50)
        let fresh = try Placement.solve(instance, algorithm: .exact).placement
        let m1 = try #require(fresh.hosts["m1"]?.first), m2 = try #require(fresh.hosts["m2"]?.first)
        let kept = DeviceRelabeling.relabeled(fresh, toKeep: ["m1": [m2], "m2": [m1]], devices: instance.devices)
        #expect(kept == fresh)
    }

    /// m2's task has no load: where m2 sits does not change the objective, so it goes back to its
    /// previous device; m1 (on the faster device now) stays, since moving it back would cost 2×.
    @Test func modulesTheObjectiveDoesNotDependOnGoBack() throws {
        let instance = Self.instance(speedOfB: 50, memory: 250, rateOfT2: 0)
        let fresh = try Placement.solve(instance, algorithm: .exact).placement
        #expect(fresh.hosts["m1"] == ["a"])
        let other = fresh.hosts["m2"] == ["a"] ? "b" : "a"
        let back = DeviceRelabeling.movedBack(fresh, toward: ["m1": ["b"], "m2": [other]], instance: instance, deadline: nil)
        #expect(back.hosts == ["m1": ["a"], "m2": [other]], "\(back.hosts)")
        #expect(back.objectiveSeconds <= fresh.objectiveSeconds * (1 + DeviceRelabeling.moveBackTolerance))
        #expect(back.routes["t2"]?["n"] == other)
    }
}

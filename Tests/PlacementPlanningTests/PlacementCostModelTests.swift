import Testing

@testable import PlacementPlanning
import S2M3Core

/// The cost model against latencies computed by hand.
///
/// Devices: A = 100 GFLOP/s on 1000 Mbit/s with 1 ms latency; B = 50 GFLOP/s on 100 Mbit/s with
/// 2 ms. Crossing A's link with b bytes costs 0.001 + 8b/1e9 s, B's 0.002 + 8b/1e8 s.
@Suite("Placement cost model")
struct PlacementCostModelTests {
    typealias F = PlacementFixtures
    let a = F.device("A", gflops: 100, mbps: 1000, ms: 1)
    let b = F.device("B", gflops: 50, mbps: 100, ms: 2)

    private func legA(_ bytes: Double) -> Double { 0.001 + bytes * 8 / 1e9 }
    private func legB(_ bytes: Double) -> Double { 0.002 + bytes * 8 / 1e8 }

    @Test func chainOnOneDevice() throws {
        let instance = PlacementInstance(
            devices: [a, b],
            modules: [F.module("m1", gflop: 2, output: 500), F.module("m2", gflop: 1, output: 100)],
            tasks: [F.task("t", rate: 0, inputs: [("in", 1000)], [("n1", "m1", ["in"]), ("n2", "m2", ["n1"])])])
        let result = try CostModel(instance).evaluate(hosts: ["m1": ["A"], "m2": ["A"]])
        let expected = legA(1000) + 0.02 + 0.01 + legA(100)
        #expect(abs(result.taskLatencySeconds["t"]! - expected) < 1e-12)
        #expect(abs(result.objectiveSeconds - expected) < 1e-12)
    }

    /// in → x (A) and in → y (B) in parallel, then z (A) reads both: the slower branch decides.
    @Test(arguments: [1.0, 3.0])
    func diamondAcrossDevices(yGflop: Double) throws {
        let instance = PlacementInstance(
            devices: [a, b],
            modules: [
                F.module("x", gflop: 4, output: 2000), F.module("y", gflop: yGflop, output: 3000),
                F.module("z", gflop: 0.5, output: 10),
            ],
            tasks: [
                F.task("t", rate: 0, inputs: [("in", 1000)], [("x", "x", ["in"]), ("y", "y", ["in"]), ("z", "z", ["x", "y"])])
            ])
        let result = try CostModel(instance).evaluate(hosts: ["x": ["A"], "y": ["B"], "z": ["A"]])
        let xDone = legA(1000) + 4.0 / 100
        let yDone = legB(1000) + yGflop / 50
        let yArrives = yDone + legB(3000) + legA(3000)
        let expected = max(xDone, yArrives) + 0.5 / 100 + legA(10)
        #expect(abs(result.taskLatencySeconds["t"]! - expected) < 1e-12)
        // The branches overlap: the latency is less than running them one after the other.
        #expect(result.taskLatencySeconds["t"]! < xDone + yDone + 0.5 / 100 + legA(10))
        #expect(result.routes["t"] == ["x": "A", "y": "B", "z": "A"])
    }

    /// The same diamond with both branches on A: A runs one invocation at a time, so y waits for x.
    @Test func parallelBranchesOnOneDeviceRunOneAfterTheOther() throws {
        let instance = PlacementInstance(
            devices: [a, b],
            modules: [
                F.module("x", gflop: 4, output: 2000), F.module("y", gflop: 1, output: 3000),
                F.module("z", gflop: 0.5, output: 10),
            ],
            tasks: [
                F.task("t", rate: 0, inputs: [("in", 1000)], [("x", "x", ["in"]), ("y", "y", ["in"]), ("z", "z", ["x", "y"])])
            ])
        let result = try CostModel(instance).evaluate(hosts: ["x": ["A"], "y": ["A"], "z": ["A"]])
        let expected = legA(1000) + 4.0 / 100 + 1.0 / 100 + 0.5 / 100 + legA(10)
        #expect(abs(result.taskLatencySeconds["t"]! - expected) < 1e-12)
    }

    @Test func loadStretchesComputeAndSaturationIsInfinite() throws {
        func latency(rate: Double) throws -> Double {
            let instance = PlacementInstance(
                devices: [a], modules: [F.module("m", gflop: 2, output: 0)],
                tasks: [F.task("t", rate: rate, [("n", "m", ["in"])])])
            return try CostModel(instance).evaluate(hosts: ["m": ["A"]]).taskLatencySeconds["t"]!
        }
        // 10 requests/s × 2 GFLOP on 100 GFLOP/s: utilisation 0.2, compute 0.02 / 0.8.
        #expect(abs(try latency(rate: 10) - (legA(0) + 0.02 / 0.8 + legA(0))) < 1e-12)
        #expect(try latency(rate: 60) == .infinity)
    }

    @Test func objectiveIsRateTimesPriorityWeighted() throws {
        let instance = PlacementInstance(
            devices: [a, b], modules: [F.module("p", gflop: 0, output: 0), F.module("q", gflop: 0, output: 0)],
            tasks: [
                F.task("t1", rate: 1, priority: 3, inputs: [("in", 5000)], [("n", "p", ["in"])]),
                F.task("t2", rate: 2, inputs: [("in", 0)], [("n", "q", ["in"])]),
            ])
        let result = try CostModel(instance).evaluate(hosts: ["p": ["B"], "q": ["A"]])
        let t1 = legB(5000) + legB(0)
        let t2 = legA(0) + legA(0)
        #expect(abs(result.taskLatencySeconds["t1"]! - t1) < 1e-12)
        #expect(abs(result.objectiveSeconds - (3 * t1 + 2 * t2) / 5) < 1e-12)
    }

    @Test func sharedModuleCountsOncePerDeviceAndRoutesToTheFasterReplica() throws {
        let instance = PlacementInstance(
            devices: [a, b], modules: [F.module("enc", memory: 300, gflop: 1, output: 0)],
            tasks: [
                F.task("t1", rate: 0, [("n", "enc", ["in"])]), F.task("t2", rate: 0, [("n", "enc", ["in"])]),
            ])
        let model = try CostModel(instance)
        let single = try model.evaluate(hosts: ["enc": ["A"]])
        #expect(single.deviceMemoryUsedBytes == ["A": 300, "B": 0])
        let replicated = try model.evaluate(hosts: ["enc": ["A", "B"]])
        #expect(replicated.deviceMemoryUsedBytes == ["A": 300, "B": 300])
        #expect(replicated.routes["t1"] == ["n": "A"])
        #expect(abs(replicated.taskLatencySeconds["t2"]! - (legA(0) + 0.01 + legA(0))) < 1e-12)
    }

    @Test func rejectsPlacementsThatMissAModuleOrNameUnknownDevices() throws {
        let instance = PlacementInstance(
            devices: [a], modules: [F.module("m")], tasks: [F.task("t", [("n", "m", ["in"])])])
        let model = try CostModel(instance)
        #expect { try model.evaluate(hosts: [:]) } throws: { ($0 as? PlacementError)?.code == .invalidPlacement }
        #expect { try model.evaluate(hosts: ["m": ["Z"]]) } throws: { ($0 as? PlacementError)?.code == .invalidPlacement }
    }
}

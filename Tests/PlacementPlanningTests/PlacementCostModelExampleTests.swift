import Foundation
import Testing

@testable import PlacementPlanning
import S2M3Core

/// The worked examples of docs/placement.md ("The cost model", "Worked examples"), computed by the
/// cost model, and the three points where code and doc once disagreed: 0-GFLOP nodes wait for
/// their device, one task's invocations of a module may go to different replicas, and a device
/// runs a request's ready nodes in declaration order.
///
/// Devices A and B: 100 GFLOP/s, 1000 Mbit/s, 1 ms, so crossing a link with b bytes costs
/// 0.001 + 8b/1e9 s.
@Suite("Placement cost model: the documented examples")
struct PlacementCostModelExampleTests {
    typealias F = PlacementFixtures
    let a = F.device("A", gflops: 100, mbps: 1000, ms: 1)
    let b = F.device("B", gflops: 100, mbps: 1000, ms: 1)

    /// Example 1: `x` (enc, 10 GFLOP) and `y` (a 0-GFLOP built-in with a 1 MB result) both read a
    /// 10 KB input on A; rate 2/s, so A's utilisation is 2 × 10 / 100 = 0.2.
    private var example1: PlacementInstance {
        PlacementInstance(
            devices: [a],
            modules: [F.module("enc", gflop: 10, output: 1000), F.module("builtin", memory: 0, gflop: 0, output: 1_000_000)],
            tasks: [F.task("t", rate: 2, inputs: [("in", 10_000)], [("x", "enc", ["in"]), ("y", "builtin", ["in"])])])
    }

    @Test func example1ZeroGflopNodeWaitsForItsDevice() throws {
        let result = try CostModel(example1).evaluate(hosts: ["enc": ["A"], "builtin": ["A"]])
        // Input arrives at 0.00108 s; x computes 10 / 100 / (1 − 0.2) = 0.125 s until 0.12608 s;
        // y is ready at 0.00108 s but waits for x, starts and ends at 0.12608 s; its 1 MB result
        // takes 0.009 s more: 0.13508 s (x's result is back at 0.127088 s).
        #expect(abs(result.taskLatencySeconds["t"]! - 0.13508) < 1e-12)
        #expect(abs(result.deviceUtilization["A"]! - 0.2) < 1e-12)
        // Had y not waited, the task would have ended with x's result, 0.127088 s.
        #expect(result.taskLatencySeconds["t"]! > 0.127088 + 0.0079)
    }

    /// Example 2: enc has replicas on A and B; the task invokes it twice (`p`, `q`, both reading the
    /// 10 KB input), and the 0-GFLOP `join` on A reads both; rate 2/s.
    private var example2: PlacementInstance {
        PlacementInstance(
            devices: [a, b],
            modules: [F.module("enc", gflop: 10, output: 1000), F.module("join", memory: 0, gflop: 0, output: 100)],
            tasks: [
                F.task("t", rate: 2, inputs: [("in", 10_000)], [("p", "enc", ["in"]), ("q", "enc", ["in"]), ("r", "join", ["p", "q"])])
            ])
    }

    @Test func example2OneTasksInvocationsSplitAcrossReplicas() throws {
        let result = try CostModel(example2).evaluate(hosts: ["enc": ["A", "B"], "join": ["A"]])
        // p: both replicas finish at 0.12608 s (utilisation 0.2 with p's demand), the tie goes to A.
        // q: A would now be at 0.4 (0.00108 + 0.1/0.6), B at 0.2 (0.12608): q goes to B.
        #expect(result.routes["t"] == ["p": "A", "q": "B", "r": "A"])
        #expect(abs(result.deviceUtilization["A"]! - 0.2) < 1e-12)
        #expect(abs(result.deviceUtilization["B"]! - 0.2) < 1e-12)
        // r: q's output crosses B's and A's links (2 × 0.001008) and arrives at 0.128096 s; A is
        // free since 0.12608 s; r takes no time; its 100 B result: 0.0010008 s. Total 0.1290968 s.
        #expect(abs(result.taskLatencySeconds["t"]! - 0.1290968) < 1e-12)
        // With enc on A alone (utilisation 0.4), p and q run one after the other: far slower.
        let single = try CostModel(example2).evaluate(hosts: ["enc": ["A"], "join": ["A"]])
        let each = 10.0 / 100 / 0.6
        #expect(abs(single.taskLatencySeconds["t"]! - (0.00108 + 2 * each + 0.0010008)) < 1e-12)
    }

    /// Two ready nodes on one device run in declaration order (the task's topological order takes
    /// ready nodes in the order they are listed), whatever their sizes.
    @Test(arguments: [false, true])
    func readyNodesRunInDeclarationOrder(smallFirst: Bool) throws {
        let big = ("big", "enc", ["in"])
        let small = ("small", "tiny", ["in"])
        let instance = PlacementInstance(
            devices: [a],
            modules: [F.module("enc", gflop: 10, output: 1000), F.module("tiny", gflop: 1, output: 1_000_000)],
            tasks: [F.task("t", rate: 0, inputs: [("in", 10_000)], smallFirst ? [small, big] : [big, small])])
        let result = try CostModel(instance).evaluate(hosts: ["enc": ["A"], "tiny": ["A"]])
        // Input at 0.00108 s; big takes 0.1 s, small 0.01 s and has a 1 MB result (0.009 s).
        let expected =
            smallFirst
            ? max(0.00108 + 0.01 + 0.009, 0.00108 + 0.01 + 0.1 + 0.001008)
            : max(0.00108 + 0.1 + 0.001008, 0.00108 + 0.1 + 0.01 + 0.009)
        #expect(abs(result.taskLatencySeconds["t"]! - expected) < 1e-12)
    }

    /// Transfers: a two-node chain on A. `direct` passes x's output to y for free; `via-aggregator`
    /// (how s2m3 runs today) sends it back to the aggregator and out again: 2 × leg(1 KB) more.
    @Test(arguments: PlacementTransfers.allCases)
    func aChainOnOneDeviceCrossesTheLinkOnlyViaTheAggregator(transfers: PlacementTransfers) throws {
        let instance = PlacementInstance(
            devices: [a], modules: [F.module("enc", gflop: 10, output: 1000), F.module("head", gflop: 1, output: 100)],
            tasks: [F.task("t", rate: 0, inputs: [("in", 10_000)], [("x", "enc", ["in"]), ("y", "head", ["x"])])],
            transfers: transfers)
        let result = try CostModel(instance).evaluate(hosts: ["enc": ["A"], "head": ["A"]])
        // Input 0.00108 s, x 0.1 s, y 0.01 s, y's 100 B result 0.0010008 s.
        let direct = 0.00108 + 0.1 + 0.01 + 0.0010008
        let expected = transfers == .direct ? direct : direct + 2 * 0.001008
        #expect(abs(result.taskLatencySeconds["t"]! - expected) < 1e-12)
        // The mode survives the JSON format.
        #expect(try PlacementInstance(json: instance.jsonData()).transfers == transfers)
    }

    @Test func anUnknownTransfersModeIsNamed() {
        let json = #"{"devices": [], "modules": [], "tasks": [], "transfers": "teleport"}"#
        #expect {
            try PlacementInstance(json: Data(json.utf8))
        } throws: { ($0 as? PlacementError)?.message.contains("transfers must be 'direct' or 'via-aggregator' (got 'teleport')") == true }
    }
}

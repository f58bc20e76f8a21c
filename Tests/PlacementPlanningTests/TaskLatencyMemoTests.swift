import Testing

import PlacementGenerators
@testable import PlacementPlanning
import S2M3Core

/// The memo returns a task's latency only while the devices of its nodes and their loads are
/// unchanged, and then exactly what a recomputation gives.
@Suite("Task latency memo")
struct TaskLatencyMemoTests {
    static let instances = RandomPlacementInstances.scaled(modules: 40, devices: 8)

    @Test(arguments: Array(UInt64(1)...5))
    func hitsOnlyWhileInputsAreUnchanged(seed: UInt64) throws {
        let problem = try PlacementProblem(Self.instances.generate(seed: seed))
        let hosts = (0..<problem.moduleCount).map { [$0 % problem.deviceCount] }
        var (route, load) = problem.route(hosts: hosts)
        var memo = TaskLatencyMemo(taskCount: problem.taskCount, nodeCount: problem.nodeCount)
        var finish = [Double](repeating: 0, count: problem.nodeCount)
        for t in 0..<problem.taskCount {
            #expect(memo.latency(of: t, nodes: problem.taskNodes[t], route: route, load: load) == nil)
            let value = problem.taskLatency(t, route: route, load: load, finish: &finish, memo: &memo)
            #expect(memo.latency(of: t, nodes: problem.taskNodes[t], route: route, load: load) == value)
        }
        let t = 0
        let n = problem.taskNodes[t].lowerBound
        let d = route[n]
        // Another device's load: task t keeps its value only if no node of t is there.
        let other = (d + 1) % problem.deviceCount
        let otherUsed = problem.taskNodes[t].contains { route[$0] == other }
        let otherLoad = load[other]
        load[other] += 1
        #expect((memo.latency(of: t, nodes: problem.taskNodes[t], route: route, load: load) == nil) == otherUsed)
        load[other] = otherLoad
        // The node's own device's load, by the smallest step.
        let saved = load[d]
        load[d] = load[d].nextUp
        #expect(memo.latency(of: t, nodes: problem.taskNodes[t], route: route, load: load) == nil)
        let recomputed = problem.taskLatency(t, route: route, load: load, finish: &finish, memo: &memo)
        #expect(recomputed == problem.taskLatency(t, route: route, load: load, finish: &finish))
        load[d] = saved
        // The node unplaced.
        _ = problem.taskLatency(t, route: route, load: load, finish: &finish, memo: &memo)
        route[n] = -1
        #expect(memo.latency(of: t, nodes: problem.taskNodes[t], route: route, load: load) == nil)
        #expect(
            problem.taskLatency(t, route: route, load: load, finish: &finish, memo: &memo)
                == problem.taskLatency(t, route: route, load: load, finish: &finish))
    }
}

/// Task latencies remembered together with what they were computed from, so that evaluating a task
/// again with unchanged inputs returns the remembered value instead of walking its nodes.
///
/// ``PlacementProblem/taskLatency(_:route:load:finish:)`` reads, for task t, only the device of
/// each of t's nodes and that device's load (a node's producers are in its own task) besides the
/// instance's constants. Those are the key, loads compared bit for bit, so a hit is exactly the
/// value a recomputation would give: searches that use the memo make the same choices as without.
/// Local search re-evaluates the tasks on a module's current device for every device it tries,
/// and the replica planner every task for every replica it tries, mostly with nothing changed.
///
/// Not for ``PlacementProblem/taskLowerBound(_:route:load:memoryUsed:finish:)``, which reads every
/// device's load and memory.
struct TaskLatencyMemo {
    private var value: [Double]
    private var known: [Bool]
    /// Per node: its device when its task's value was remembered (-1: unplaced).
    private var device: [Int]
    /// Per node: that device's load then, as bits (0 when unplaced).
    private var loadBits: [UInt64]

    init(taskCount: Int, nodeCount: Int) {
        value = [Double](repeating: 0, count: taskCount)
        known = [Bool](repeating: false, count: taskCount)
        device = [Int](repeating: -1, count: nodeCount)
        loadBits = [UInt64](repeating: 0, count: nodeCount)
    }

    /// The remembered latency of task `t` (whose nodes are `nodes`) if every node is on the device
    /// it was on then and that device's load is the same; nil otherwise.
    func latency(of t: Int, nodes: Range<Int>, route: [Int], load: [Double]) -> Double? {
        guard known[t] else { return nil }
        for n in nodes {
            let d = route[n]
            guard d == device[n], (d < 0 ? 0 : load[d].bitPattern) == loadBits[n] else { return nil }
        }
        return value[t]
    }

    /// Remembers `latency` as task `t`'s value under `route` and `load`.
    mutating func remember(_ latency: Double, of t: Int, nodes: Range<Int>, route: [Int], load: [Double]) {
        value[t] = latency
        known[t] = true
        for n in nodes {
            let d = route[n]
            device[n] = d
            loadBits[n] = d < 0 ? 0 : load[d].bitPattern
        }
    }
}

extension PlacementProblem {
    /// ``taskLatency(_:route:load:finish:)`` through `memo`: the remembered value when task `t`'s
    /// inputs are unchanged, else computed and remembered.
    func taskLatency(_ t: Int, route: [Int], load: [Double], finish: inout [Double], memo: inout TaskLatencyMemo) -> Double {
        if let known = memo.latency(of: t, nodes: taskNodes[t], route: route, load: load) { return known }
        let latency = taskLatency(t, route: route, load: load, finish: &finish)
        memo.remember(latency, of: t, nodes: taskNodes[t], route: route, load: load)
        return latency
    }

    /// The weighted objective of a complete route (as ``evaluate(route:load:)`` sums it), through
    /// `memo`.
    func objective(route: [Int], load: [Double], finish: inout [Double], memo: inout TaskLatencyMemo) -> Double {
        var objective = 0.0
        for t in 0..<taskCount {
            objective += taskWeight[t] * taskLatency(t, route: route, load: load, finish: &finish, memo: &memo)
        }
        return objective
    }
}

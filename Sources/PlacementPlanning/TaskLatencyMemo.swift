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
    /// Per task: the remembered latency, nil until there is one.
    private var value: [Double?]
    /// Per node: its device and that device's load (as bits) when its task's value was remembered;
    /// (-1, 0) when unplaced. One array for both, so a check touches one place per node.
    private var input: [NodeInput]

    private struct NodeInput: Equatable {
        var device: Int
        var loadBits: UInt64

        static let unplaced = NodeInput(device: -1, loadBits: 0)

        init(device: Int, loadBits: UInt64) {
            self.device = device
            self.loadBits = loadBits
        }

        @inline(__always)
        init(_ n: Int, route: [Int], load: [Double]) {
            device = route[n]
            loadBits = device < 0 ? 0 : load[device].bitPattern
        }
    }

    init(taskCount: Int, nodeCount: Int) {
        value = [Double?](repeating: nil, count: taskCount)
        input = [NodeInput](repeating: .unplaced, count: nodeCount)
    }

    /// The remembered latency of task `t` (whose nodes are `nodes`) if every node is on the device
    /// it was on then and that device's load is the same; nil otherwise.
    func latency(of t: Int, nodes: Range<Int>, route: [Int], load: [Double]) -> Double? {
        guard let known = value[t] else { return nil }
        for n in nodes where input[n] != NodeInput(n, route: route, load: load) { return nil }
        return known
    }

    /// Remembers `latency` as task `t`'s value under `route` and `load`.
    mutating func remember(_ latency: Double, of t: Int, nodes: Range<Int>, route: [Int], load: [Double]) {
        value[t] = latency
        for n in nodes { input[n] = NodeInput(n, route: route, load: load) }
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

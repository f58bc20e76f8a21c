import S2M3Core
/// The mutable state the single-copy algorithms (greedy, local search, branch and bound) share:
/// one device per free module, fixed hosts for modules kept from a previous plan, the resulting
/// route, device load and memory, and one cached latency per task.
///
/// `taskValue[t]` is task t's latency under `mode` (how undecided nodes count), so
/// a change needs only the affected tasks recomputed: the tasks that invoke the moved module and,
/// when its compute demand changes a device's load, the tasks with nodes on that device.
struct PlacementSearchState {
    let problem: PlacementProblem
    /// Device per module, -1 when not decided or when the module has fixed hosts.
    var assignment: [Int]
    /// Hosts kept from a previous plan (empty for free modules).
    let fixedHosts: [[Int]]
    var route: [Int]
    var load: [Double]
    var memoryUsed: [Int]
    var taskValue: [Double]
    /// How undecided nodes count in `taskValue`.
    var mode: Mode = .placedSoFar
    /// Modules with at least one node routed to each device.
    var deviceModules: [[Int]]

    private var finish: [Double]
    /// Exact-mode latencies by their inputs: a move tried re-evaluates the tasks on the module's
    /// current device with the same inputs for every device tried.
    private var memo: TaskLatencyMemo
    /// Whether exact-mode evaluations go through `memo`. Greedy turns it off: placing a module
    /// changes the inputs of every task it evaluates, so the memo would only cost (about 1 % hits
    /// at 1,000 × 200).
    var usesMemo = true
    private var stamp: [Int]
    private var stampCounter = 0
    var affected: [Int] = []
    /// Task latency evaluations performed (the deterministic work measure budgets count).
    var evaluations = 0

    enum Mode {
        /// Undecided nodes are free: the latency of what is placed so far (exact once all are placed).
        case placedSoFar
        /// Undecided nodes at their best possible device: a lower bound for branch and bound.
        case lowerBound
    }

    init(problem: PlacementProblem, fixedHosts: [[Int]]) {
        self.problem = problem
        self.fixedHosts = fixedHosts
        assignment = [Int](repeating: -1, count: problem.moduleCount)
        route = [Int](repeating: -1, count: problem.nodeCount)
        load = [Double](repeating: 0, count: problem.deviceCount)
        memoryUsed = [Int](repeating: 0, count: problem.deviceCount)
        taskValue = [Double](repeating: 0, count: problem.taskCount)
        deviceModules = [[Int]](repeating: [], count: problem.deviceCount)
        finish = [Double](repeating: 0, count: problem.nodeCount)
        memo = TaskLatencyMemo(taskCount: problem.taskCount, nodeCount: problem.nodeCount)
        stamp = [Int](repeating: 0, count: problem.taskCount)
        for m in 0..<problem.moduleCount where !fixedHosts[m].isEmpty {
            let hosts = fixedHosts[m]
            for d in hosts { memoryUsed[d] += problem.moduleMemory[m] }
            // Fixed modules with several hosts are pre-routed to their fastest host; the final
            // router spreads them again.
            let target = hosts.min { problem.speed[$0] != problem.speed[$1] ? problem.speed[$0] > problem.speed[$1] : $0 < $1 } ?? hosts[0]
            for n in problem.moduleNodes[m] {
                route[n] = target
                load[target] += problem.nodeDemand[n]
            }
            if !problem.moduleNodes[m].isEmpty { deviceModules[target].append(m) }
        }
        recomputeAll()
    }

    /// Puts free module `m` on device `d` (no memory or load check; callers check first).
    mutating func place(_ m: Int, on d: Int) {
        assignment[m] = d
        memoryUsed[d] += problem.moduleMemory[m]
        load[d] += problem.moduleDemand[m]
        for n in problem.moduleNodes[m] { route[n] = d }
        deviceModules[d].append(m)
    }

    /// Takes free module `m` off its device.
    mutating func unplace(_ m: Int) {
        let d = assignment[m]
        guard d >= 0 else { return }
        assignment[m] = -1
        memoryUsed[d] -= problem.moduleMemory[m]
        load[d] -= problem.moduleDemand[m]
        if deviceModules[d].count == 1 { load[d] = 0 }  // nothing left there: no float residue
        for n in problem.moduleNodes[m] { route[n] = -1 }
        if let index = deviceModules[d].lastIndex(of: m) { deviceModules[d].remove(at: index) }
    }

    /// Whether `m` fits on `d` by memory (after freeing `freed` bytes there) and keeps it unsaturated.
    func fits(_ m: Int, on d: Int, freed: Int = 0, shed: Double = 0) -> Bool {
        memoryUsed[d] - freed + problem.moduleMemory[m] <= problem.memory[d]
            && load[d] - shed + problem.moduleDemand[m] < problem.speed[d]
    }

    func isEmpty(_ d: Int) -> Bool { memoryUsed[d] == 0 && deviceModules[d].isEmpty }

    /// Fills `affected` with the tasks of modules `a` and `b` and, when the change alters load, the
    /// tasks with nodes on devices `d1` and `d2`, in that order, each task once (−1: no such module
    /// or device). Scalars rather than arrays: this runs for every move evaluated, and array
    /// literals here cost an allocation each (profiled at 1,000 × 200).
    mutating func collectAffected(modules a: Int, _ b: Int = -1, devices d1: Int, _ d2: Int = -1, loadChanges: Bool) {
        stampCounter += 1
        affected.removeAll(keepingCapacity: true)
        if a >= 0 { collectTasks(of: a) }
        if b >= 0 { collectTasks(of: b) }
        guard loadChanges else { return }
        if d1 >= 0 { collectTasks(onDevice: d1) }
        if d2 >= 0 { collectTasks(onDevice: d2) }
    }

    /// Appends the tasks of the modules routed to device `d`, as ``collectTasks(of:)`` does.
    /// (Index loops over the nested arrays here: iterating them retained and released each one,
    /// a tenth of local search's time at 1,000 × 200.)
    private mutating func collectTasks(onDevice d: Int) {
        for i in 0..<deviceModules[d].count { collectTasks(of: deviceModules[d][i]) }
    }

    /// Appends module `m`'s tasks not yet stamped in this round to `affected`.
    private mutating func collectTasks(of m: Int) {
        for i in 0..<problem.moduleTasks[m].count {
            let t = problem.moduleTasks[m][i]
            if stamp[t] != stampCounter {
                stamp[t] = stampCounter
                affected.append(t)
            }
        }
    }

    /// Task `t`'s latency under `mode`; counts one evaluation whether or not the memo had it, so
    /// budgets stop at the same point.
    mutating func latency(_ t: Int) -> Double {
        evaluations += 1
        switch mode {
        case .placedSoFar:
            guard usesMemo else { return problem.taskLatency(t, route: route, load: load, finish: &finish) }
            return problem.taskLatency(t, route: route, load: load, finish: &finish, memo: &memo)
        case .lowerBound:
            return problem.taskLowerBound(t, route: route, load: load, memoryUsed: memoryUsed, finish: &finish)
        }
    }

    /// Σ weight × (new − cached) over `affected`; +∞ if any affected task becomes infinite.
    mutating func affectedDelta() -> Double {
        var delta = 0.0
        for t in affected {
            let value = latency(t)
            if !value.isFinite { return .infinity }
            delta += problem.taskWeight[t] * (value - taskValue[t])
        }
        return delta
    }

    /// Recomputes the cached latency of the `affected` tasks.
    mutating func refreshAffected() {
        for t in affected { taskValue[t] = latency(t) }
    }

    mutating func recomputeAll() {
        for t in 0..<problem.taskCount { taskValue[t] = latency(t) }
    }

    var objective: Double {
        var total = 0.0
        for t in 0..<problem.taskCount { total += problem.taskWeight[t] * taskValue[t] }
        return total
    }

    // MARK: Moves used by greedy and local search

    /// Objective change if free module `m` moved to `d` (placing it if undecided); state unchanged.
    mutating func moveDelta(_ m: Int, to d: Int) -> Double {
        let from = assignment[m]
        if from >= 0 { unplace(m) }
        place(m, on: d)
        collectAffected(modules: m, devices: from, d, loadChanges: problem.moduleDemand[m] > 0)
        let delta = affectedDelta()
        unplace(m)
        if from >= 0 { place(m, on: from) }
        return delta
    }

    mutating func applyMove(_ m: Int, to d: Int) {
        let from = assignment[m]
        if from >= 0 { unplace(m) }
        place(m, on: d)
        collectAffected(modules: m, devices: from, d, loadChanges: problem.moduleDemand[m] > 0)
        refreshAffected()
    }

    /// Objective change if free modules `a` and `b` (on different devices) swapped devices.
    mutating func swapDelta(_ a: Int, _ b: Int) -> Double {
        let da = assignment[a], db = assignment[b]
        unplace(a)
        unplace(b)
        place(a, on: db)
        place(b, on: da)
        let loadChanges = problem.moduleDemand[a] > 0 || problem.moduleDemand[b] > 0
        collectAffected(modules: a, b, devices: da, db, loadChanges: loadChanges)
        let delta = affectedDelta()
        unplace(a)
        unplace(b)
        place(a, on: da)
        place(b, on: db)
        return delta
    }

    mutating func applySwap(_ a: Int, _ b: Int) {
        let da = assignment[a], db = assignment[b]
        unplace(a)
        unplace(b)
        place(a, on: db)
        place(b, on: da)
        let loadChanges = problem.moduleDemand[a] > 0 || problem.moduleDemand[b] > 0
        collectAffected(modules: a, b, devices: da, db, loadChanges: loadChanges)
        refreshAffected()
    }

    /// Host sets for the router: the fixed hosts, or the assigned device.
    var hosts: [[Int]] {
        (0..<problem.moduleCount).map { m in
            !fixedHosts[m].isEmpty ? fixedHosts[m] : (assignment[m] >= 0 ? [assignment[m]] : [])
        }
    }
}

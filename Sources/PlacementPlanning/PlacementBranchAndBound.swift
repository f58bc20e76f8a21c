import S2M3Core
/// Exact single-copy placement by depth-first branch and bound.
///
/// Free modules are decided in greedy order (most compute first). At each level every device with
/// room is tried, best lower bound first. The lower bound of a partial placement
/// (``PlacementProblem/taskLowerBound(_:route:load:memoryUsed:finish:)``) puts each undecided node
/// on its own best device; no completion does better, so a branch whose bound reaches the incumbent
/// cannot beat it and is cut. Empty devices with identical capabilities are
/// interchangeable: only the first of each kind is tried. A branch is also cut when the modules
/// left need more memory than remains, or the largest of them fits nowhere.
///
/// The search stops at `nodeLimit` decisions (deterministic) or at the solve's wall-clock
/// `deadline` (reported, as it makes the result depend on the machine), asked at every decision and
/// before every child bounded: with many devices one decision bounds a child per device, each over
/// every device, so one decision can take milliseconds. It proves optimality when it ends on its own.
final class PlacementBranchAndBound {
    struct Outcome {
        var assignment: [Int]?
        var objective: Double
        var proven: Bool
        var nodes: Int
        var stoppedByTime: Bool
        var stoppedByNodes: Bool
    }

    private var state: PlacementSearchState
    private let order: [Int]
    private let nodeLimit: Int
    private let deadline: PlacementDeadline
    private var best: Double
    private var bestAssignment: [Int]?
    private var nodes = 0
    private var stoppedByTime = false
    private var stoppedByNodes = false
    private var lowerBound = 0.0
    private let suffixMemory: [Int]
    private let suffixLargest: [Int]
    private var freeTotal = 0

    init(
        state: PlacementSearchState, order: [Int], incumbent: (assignment: [Int], objective: Double)?,
        nodeLimit: Int, deadline: PlacementDeadline
    ) {
        self.state = state
        self.order = order
        self.nodeLimit = nodeLimit
        self.deadline = deadline
        best = incumbent?.objective ?? .infinity
        bestAssignment = incumbent?.assignment
        let memory = order.map { state.problem.moduleMemory[$0] }
        var sums = [Int](repeating: 0, count: order.count + 1)
        var largest = [Int](repeating: 0, count: order.count + 1)
        for i in stride(from: order.count - 1, through: 0, by: -1) {
            sums[i] = sums[i + 1] + memory[i]
            largest[i] = max(largest[i + 1], memory[i])
        }
        suffixMemory = sums
        suffixLargest = largest
    }

    func run() -> Outcome {
        let problem = state.problem
        for m in order where state.assignment[m] >= 0 { state.unplace(m) }
        state.mode = .lowerBound
        state.recomputeAll()
        lowerBound = state.objective
        freeTotal = (0..<problem.deviceCount).reduce(0) { $0 + problem.memory[$1] - state.memoryUsed[$1] }
        search(depth: 0)
        return Outcome(
            assignment: bestAssignment, objective: best, proven: !stoppedByTime && !stoppedByNodes, nodes: nodes,
            stoppedByTime: stoppedByTime, stoppedByNodes: stoppedByNodes)
    }

    /// Bounds at or above this cannot improve on the incumbent (+∞ while there is none).
    private func cutoff() -> Double { best.isFinite ? best - 1e-12 * max(1, abs(best)) : .infinity }

    private func search(depth: Int) {
        if stoppedByTime || stoppedByNodes { return }
        nodes += 1
        if nodes >= nodeLimit {
            stoppedByNodes = true
            return
        }
        if deadline.passed() {
            stoppedByTime = true
            return
        }
        if depth == order.count {
            leaf()
            return
        }
        let problem = state.problem
        if suffixMemory[depth] > freeTotal { return }
        var roomiest = 0
        for d in 0..<problem.deviceCount { roomiest = max(roomiest, problem.memory[d] - state.memoryUsed[d]) }
        if suffixLargest[depth] > roomiest { return }

        let m = order[depth]
        var seenEmptyClass = Set<Int>()
        var children: [(bound: Double, device: Int)] = []
        for d in 0..<problem.deviceCount where state.fits(m, on: d) {
            if state.isEmpty(d) && !seenEmptyClass.insert(problem.deviceClass[d]).inserted { continue }
            if deadline.passed() {
                stoppedByTime = true
                return
            }
            let (bound, saved) = descend(m, d)
            ascend(m, saved)
            if bound < cutoff() { children.append((bound, d)) }
        }
        children.sort { $0.bound != $1.bound ? $0.bound < $1.bound : $0.device < $1.device }
        for child in children {
            if child.bound >= cutoff() { break }
            let (_, saved) = descend(m, child.device)
            search(depth: depth + 1)
            ascend(m, saved)
            if stoppedByTime || stoppedByNodes { return }
        }
    }

    /// Places `m` on `d` and refreshes the bounds of its tasks; returns the new bound and what to restore.
    private func descend(_ m: Int, _ d: Int) -> (Double, [(Int, Double)]) {
        state.place(m, on: d)
        freeTotal -= state.problem.moduleMemory[m]
        if state.problem.taskCount <= 64 {
            // Few tasks: refresh every bound (the room and load this placement takes tighten the
            // bounds of tasks that do not use m too).
            state.affected = Array(0..<state.problem.taskCount)
        } else {
            state.collectAffected(modules: m, devices: d, loadChanges: state.problem.moduleDemand[m] > 0)
        }
        var saved: [(Int, Double)] = []
        saved.reserveCapacity(state.affected.count)
        let tasks = state.affected
        for t in tasks {
            let old = state.taskValue[t]
            let value = state.latency(t)
            saved.append((t, old))
            state.taskValue[t] = value
            lowerBound += state.problem.taskWeight[t] * (value - old)
        }
        return (lowerBound.isNaN ? .infinity : lowerBound, saved)
    }

    private func ascend(_ m: Int, _ saved: [(Int, Double)]) {
        for (t, old) in saved.reversed() {
            lowerBound -= state.problem.taskWeight[t] * (state.taskValue[t] - old)
            state.taskValue[t] = old
        }
        // Undo float drift and infinities exactly: recompute the sum when it went non-finite.
        if !lowerBound.isFinite { lowerBound = state.objective }
        freeTotal += state.problem.moduleMemory[m]
        state.unplace(m)
    }

    private func leaf() {
        let problem = state.problem
        var finish = [Double](repeating: 0, count: problem.nodeCount)
        var objective = 0.0
        for t in 0..<problem.taskCount {
            let value = problem.taskLatency(t, route: state.route, load: state.load, finish: &finish)
            objective += problem.taskWeight[t] * value
            if objective >= best { return }
        }
        if objective < cutoff() || bestAssignment == nil {
            best = objective
            bestAssignment = state.assignment
        }
    }
}

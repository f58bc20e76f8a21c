import S2M3Core
/// Adds replicas to a complete placement: another copy of a module on another device, taken when
/// it lowers the objective (less queueing on a busy device, or less transfer for the tasks routed
/// to it) and the device has the memory. Best replica first, repeated until none helps or the
/// evaluation budget is spent or the deadline passes (asked before every round and every replica tried; a round
/// cut short keeps the replicas already chosen); replicas no route uses are then dropped.
/// Deterministic unless the deadline cuts it.
///
/// Routing is per node (``PlacementProblem/route(hosts:)``): each node sends all its requests to one
/// replica, so a module invoked once per request by a single task gains from a replica only through
/// transfer, not load; a task invoking it several times per request can spread those invocations.
struct PlacementReplicaPlanner {
    let problem: PlacementProblem
    /// Full evaluations (route + every task) allowed.
    var evaluationLimit = 2_000
    /// Modules considered per round when there are many (highest compute demand first).
    var moduleBreadth = 24
    /// Devices considered per module when there are many (fastest with room, plus neighbours').
    var deviceBreadth = 12

    /// Returns the number of replicas added, the evaluations spent and whether the deadline cut it.
    func improve(
        hosts: inout [[Int]], deadline: PlacementDeadline = PlacementDeadline(nil)
    ) -> (added: Int, evaluations: Int, cutByTime: Bool) {
        var cutByTime = false
        var used = problem.memoryUsed(hosts: hosts)
        var (route, load) = problem.route(hosts: hosts)
        // A replica tried changes the routes and loads of a few tasks: the memo keeps the others'.
        var memo = TaskLatencyMemo(taskCount: problem.taskCount, nodeCount: problem.nodeCount)
        var finish = [Double](repeating: 0, count: problem.nodeCount)
        var current = problem.objective(route: route, load: load, finish: &finish, memo: &memo)
        var evaluations = 1
        var added = 0
        let modules = problem.neededModules.sorted { a, b in
            problem.moduleDemand[a] != problem.moduleDemand[b] ? problem.moduleDemand[a] > problem.moduleDemand[b] : a < b
        }.prefix(moduleBreadth)
        search: while evaluations < evaluationLimit {
            if deadline.passed() {
                cutByTime = true
                break
            }
            var best: (module: Int, device: Int, objective: Double)?
            for m in modules {
                for d in devices(for: m, hosts: hosts, used: used, route: route) {
                    if evaluations >= evaluationLimit { break search }
                    if deadline.passed() {
                        cutByTime = true
                        break search
                    }
                    hosts[m].append(d)
                    hosts[m].sort()
                    let trial = problem.route(hosts: hosts)
                    let objective = problem.objective(route: trial.route, load: trial.load, finish: &finish, memo: &memo)
                    evaluations += 1
                    hosts[m].removeAll { $0 == d }
                    let threshold = (best?.objective ?? current) - 1e-9 * max(1e-3, current)
                    if objective < threshold { best = (m, d, objective) }
                }
            }
            guard let chosen = best else { break }
            hosts[chosen.module].append(chosen.device)
            hosts[chosen.module].sort()
            used[chosen.device] += problem.moduleMemory[chosen.module]
            (route, load) = problem.route(hosts: hosts)
            current = chosen.objective
            added += 1
        }
        // Drop replicas no route uses (the router's choices do not depend on unused hosts).
        var usedHost = Set<Int>()
        for n in 0..<problem.nodeCount where route[n] >= 0 { usedHost.insert(problem.nodeModule[n] * problem.deviceCount + route[n]) }
        for m in 0..<problem.moduleCount where hosts[m].count > 1 {
            let kept = hosts[m].filter { usedHost.contains(m * problem.deviceCount + $0) }
            if !kept.isEmpty && kept.count < hosts[m].count {
                added -= hosts[m].count - kept.count
                hosts[m] = kept
            }
        }
        return (added, evaluations, cutByTime)
    }

    private func devices(for m: Int, hosts: [[Int]], used: [Int], route: [Int]) -> [Int] {
        let current = hosts[m]
        let size = problem.moduleMemory[m]
        func roomy(_ d: Int) -> Bool { !current.contains(d) && used[d] + size <= problem.memory[d] }
        let all = (0..<problem.deviceCount).filter(roomy)
        if all.count <= deviceBreadth * 2 { return all }
        var chosen = Set<Int>()
        for d in problem.devicesBySpeed {
            if chosen.count == deviceBreadth { break }
            if roomy(d) { chosen.insert(d) }
        }
        // Devices running the producers and consumers of this module's invocations.
        for t in problem.moduleTasks[m] {
            for n in problem.taskNodes[t] where route[n] >= 0 && roomy(route[n]) { chosen.insert(route[n]) }
        }
        return chosen.sorted()
    }
}

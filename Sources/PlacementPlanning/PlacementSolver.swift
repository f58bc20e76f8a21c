import S2M3Core
/// Runs one algorithm on a compiled problem: the pipeline behind ``Placement/solve(_:algorithm:previous:options:)``.
///
/// 1. Quick infeasibility checks (a module larger than every device, total memory, total compute).
/// 2. Re-planning: surviving hosts from the previous placement are fixed.
/// 3. Greedy (the paper's rule). `greedy` stops here.
/// 4. `exact`/`auto`: memory-first packing if greedy stranded a module, local search, branch and
///    bound (always for `exact`; for `auto` when few modules are free and the devices few enough),
///    replicas (`auto`, not when re-planning).
///
/// One `deadline` covers the whole solve (``Placement/solve(_:algorithm:previous:options:)`` sets
/// it when it starts): local search, branch and bound and the replica planner stop at it, each
/// keeping the best complete placement it has; greedy and the packing always finish (they make the
/// first feasible placement). A phase cut by time says so in `steps` and sets `budgetExhausted`.
struct PlacementSolver {
    let problem: PlacementProblem
    let algorithm: PlacementAlgorithm
    let options: PlacementOptions
    let previousHosts: [[Int]]?
    let deadline: PlacementDeadline
    private(set) var steps: [String] = []

    init(
        problem: PlacementProblem, algorithm: PlacementAlgorithm, options: PlacementOptions, previousHosts: [String: [String]]?,
        deadline: ContinuousClock.Instant? = nil
    ) {
        self.problem = problem
        self.algorithm = algorithm
        self.options = options
        self.deadline = PlacementDeadline(deadline)
        self.previousHosts = previousHosts.map { hosts in
            var indexed = [[Int]](repeating: [], count: problem.moduleCount)
            for (module, devices) in hosts {
                guard let m = problem.moduleIndex[module] else { continue }
                indexed[m] = Array(Set(devices.compactMap { problem.deviceIndex[$0] })).sorted()
            }
            return indexed
        }
    }

    mutating func solve() throws(PlacementError) -> Placement {
        try precheck()
        let fixed = fixedHosts()
        var state = PlacementSearchState(problem: problem, fixedHosts: fixed)
        let order = state.greedyOrder()
        if previousHosts != nil {
            steps.append("re-plan: kept \(fixed.filter { !$0.isEmpty }.count) modules where they were, \(order.count) to place")
        }
        var failure = state.runGreedy(order: order)
        steps.append(failure == nil ? "greedy: placed \(order.count) modules" : "greedy: stranded a module")
        if algorithm == .greedy {
            if let failure { throw PlacementError(.infeasible, failure.message) }
            return finish(hosts: state.hosts, proven: false, exhausted: false, nodes: 0)
        }
        if failure != nil {
            failure = state.runMemoryFirst(modules: order)
            if failure == nil { steps.append("memory-first packing: found a feasible start") }
        }
        var feasible = failure == nil
        var exhausted = false
        if feasible {
            let changes = state.improveLocally(
                order: order, evaluationLimit: options.localSearchEvaluationLimit, deadline: deadline)
            if deadline.reached {
                exhausted = true
                steps.append("local search: time limit reached, \(changes) moves or swaps kept")
            } else {
                steps.append("local search: \(changes) moves or swaps")
            }
        }

        var proven = false
        var nodes = 0
        let runExact =
            algorithm == .exact
            || (order.count <= options.autoExactModuleLimit && problem.deviceCount <= options.autoExactDeviceLimit)
        if runExact && !order.isEmpty && !(feasible && deadline.reached) {
            let incumbent = feasible ? (assignment: state.assignment, objective: state.objective) : nil
            let exact = algorithm == .exact
            let search = PlacementBranchAndBound(
                state: state, order: branchingOrder(order), incumbent: incumbent,
                nodeLimit: exact ? options.exactNodeLimit : options.autoExactNodeLimit, deadline: deadline)
            let outcome = search.run()
            nodes = outcome.nodes
            // Kept modules with several hosts are searched pre-routed and re-routed at the end, so
            // the proof does not cover the final routing then.
            proven = outcome.proven && !fixed.contains { $0.count > 1 }
            exhausted = exhausted || !outcome.proven
            if let assignment = outcome.assignment, !feasible || outcome.objective < state.objective - 1e-12 * max(1, state.objective) {
                for m in order where state.assignment[m] >= 0 { state.unplace(m) }
                for m in order { state.place(m, on: assignment[m]) }
                state.mode = .placedSoFar
                state.recomputeAll()
                feasible = true
            }
            let verdict =
                outcome.proven ? "proved optimal"
                : outcome.stoppedByTime ? "time limit reached, best found kept" : "decision limit reached, best found kept"
            steps.append("branch and bound: \(verdict), \(outcome.nodes) nodes")
            if !feasible {
                let detail = failure?.message ?? "no module could be placed"
                if outcome.proven {
                    throw PlacementError(.infeasible, "no placement fits (exhaustive search): \(detail)")
                }
                throw PlacementError(
                    .budgetExhausted, "no placement found before the search budget ran out; greedy failed: \(detail)")
            }
        } else if let failure {
            throw PlacementError(.infeasible, failure.message)
        } else if runExact && !order.isEmpty {
            steps.append("branch and bound: not run, time limit reached")
        }

        var hosts = state.hosts
        if algorithm == .auto && options.replicas && previousHosts == nil {
            var planner = PlacementReplicaPlanner(problem: problem)
            planner.evaluationLimit = options.replicaEvaluationLimit
            let (added, _, cutByTime) = planner.improve(hosts: &hosts, deadline: deadline)
            if cutByTime {
                exhausted = true
                steps.append("replicas: time limit reached, \(added) added")
            } else {
                steps.append("replicas: \(added) added")
            }
        }
        return finish(hosts: hosts, proven: proven, exhausted: exhausted, nodes: nodes)
    }

    /// The order branch and bound decides modules in: largest contribution to the objective first
    /// (compute per invocation × the summed weight of the tasks that invoke it). Measured on the
    /// benchmark's instances, this needs 4–5× fewer decisions than compute alone.
    private func branchingOrder(_ modules: [Int]) -> [Int] {
        let impact = modules.map { m in
            problem.moduleTasks[m].reduce(0.0) { $0 + problem.taskWeight[$1] } * problem.moduleWork[m]
        }
        return modules.indices.sorted { impact[$0] != impact[$1] ? impact[$0] > impact[$1] : $0 < $1 }.map { modules[$0] }
    }

    /// Fails fast, naming the culprit, when no placement can exist.
    private func precheck() throws(PlacementError) {
        let devices = problem.instance.devices
        let largestDevice = (0..<problem.deviceCount).max { problem.memory[$0] < problem.memory[$1] } ?? 0
        for m in problem.neededModules where problem.moduleMemory[m] > problem.memory[largestDevice] {
            throw PlacementError(
                .infeasible,
                "module '\(problem.instance.modules[m].id)' needs \(PlacementProblem.bytes(problem.moduleMemory[m])) "
                    + "but the largest device, '\(devices[largestDevice].id)', has "
                    + "\(PlacementProblem.bytes(problem.memory[largestDevice])). "
                    + "Add a device with more memory or split the module.")
        }
        let needed = problem.neededModules.reduce(0) { $0 + problem.moduleMemory[$1] }
        let available = problem.memory.reduce(0, +)
        if needed > available {
            throw PlacementError(
                .infeasible,
                "the modules the tasks use need \(PlacementProblem.bytes(needed)) together but all devices have "
                    + "\(PlacementProblem.bytes(available)) (short by \(PlacementProblem.bytes(needed - available))). "
                    + "Add devices or remove tasks.")
        }
        let demand = problem.moduleDemand.reduce(0, +)
        let capacity = problem.speed.reduce(0, +)
        if demand >= capacity {
            throw PlacementError(
                .overloaded,
                "the task rates demand \(PlacementProblem.decimal(demand, places: 1)) GFLOP/s but all devices together compute "
                    + "\(PlacementProblem.decimal(capacity, places: 1)) GFLOP/s. Lower the rates or add devices.")
        }
    }

    /// Hosts kept from the previous placement: the devices still present, shed (largest module
    /// first) where a device can no longer hold or serve what it had.
    private func fixedHosts() -> [[Int]] {
        guard let previousHosts else { return [[Int]](repeating: [], count: problem.moduleCount) }
        var fixed = [[Int]](repeating: [], count: problem.moduleCount)
        for m in problem.neededModules { fixed[m] = previousHosts[m] }
        for d in 0..<problem.deviceCount {
            var resident = (0..<problem.moduleCount).filter { fixed[$0].contains(d) }
            resident.sort { a, b in
                problem.moduleMemory[a] != problem.moduleMemory[b] ? problem.moduleMemory[a] > problem.moduleMemory[b] : a > b
            }
            var used = resident.reduce(0) { $0 + problem.moduleMemory[$1] }
            var demand = resident.reduce(0.0) { $0 + (fixed[$1].count == 1 ? problem.moduleDemand[$1] : 0) }
            for m in resident where used > problem.memory[d] || demand >= problem.speed[d] {
                let wasSingle = fixed[m].count == 1
                fixed[m].removeAll { $0 == d }
                used -= problem.moduleMemory[m]
                if wasSingle { demand -= problem.moduleDemand[m] }
            }
        }
        return fixed
    }

    private func finish(hosts: [[Int]], proven: Bool, exhausted: Bool, nodes: Int) -> Placement {
        let instance = problem.instance
        let (route, load) = problem.route(hosts: hosts)
        let model = CostModel(problem: problem)
        let evaluation = model.evaluation(hosts: hosts, route: route, load: load)
        var byID: [String: [String]] = [:]
        for m in problem.neededModules { byID[instance.modules[m].id] = hosts[m].map { instance.devices[$0].id } }
        var loads: [Placement.ModuleOnDevice] = []
        var unloads: [Placement.ModuleOnDevice] = []
        if let previousHosts {
            for m in 0..<problem.moduleCount {
                let before = Set(previousHosts[m])
                let after = Set(hosts[m])
                for d in after.subtracting(before).sorted() {
                    loads.append(.init(module: instance.modules[m].id, device: instance.devices[d].id))
                }
                for d in before.subtracting(after).sorted() {
                    unloads.append(.init(module: instance.modules[m].id, device: instance.devices[d].id))
                }
            }
        }
        let unused = (0..<problem.moduleCount).filter { problem.moduleNodes[$0].isEmpty }.map { instance.modules[$0].id }
        return Placement(
            algorithm: algorithm, steps: steps, hosts: byID, routes: evaluation.routes,
            taskLatencySeconds: evaluation.taskLatencySeconds, objectiveSeconds: evaluation.objectiveSeconds,
            provenOptimal: proven, budgetExhausted: exhausted, searchNodes: nodes, loads: loads.sorted(),
            unloads: unloads.sorted(), unusedModules: unused, deviceMemoryUsedBytes: evaluation.deviceMemoryUsedBytes,
            deviceUtilization: evaluation.deviceUtilization)
    }
}

extension PlacementSolver {
    /// The earlier of a search's own limit and the caller's shared deadline.
    static func deadline(_ own: ContinuousClock.Instant, _ shared: ContinuousClock.Instant?) -> ContinuousClock.Instant {
        shared.map { min($0, own) } ?? own
    }

    /// The deadline of a solve started at `start`: the algorithm's own limit (`exactTimeLimit`,
    /// `autoExactTimeLimit`), or the caller's `options.deadline` when that is earlier. Greedy has
    /// no limit of its own (it must finish to have a placement).
    static func deadline(
        startingAt start: ContinuousClock.Instant, algorithm: PlacementAlgorithm, options: PlacementOptions
    ) -> ContinuousClock.Instant? {
        switch algorithm {
        case .greedy: return options.deadline
        case .exact: return deadline(start + options.exactTimeLimit, options.deadline)
        case .auto: return deadline(start + options.autoExactTimeLimit, options.deadline)
        }
    }
}

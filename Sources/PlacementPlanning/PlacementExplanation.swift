import S2M3Core
/// Why each module sits where it does, in words: what keeps it there and what the runner-up device
/// would have cost (the objective with this copy moved to the best other device with room).
public struct PlacementExplanation: Sendable {
    public struct Entry: Sendable, Hashable {
        public var module: String
        public var device: String
        public var reason: String
        /// Best other device with room for this copy, if any.
        public var runnerUp: String?
        /// Objective change (seconds) if the copy moved to the runner-up; ≥ 0 unless the plan is not
        /// locally optimal (greedy).
        public var runnerUpDeltaSeconds: Double?
    }

    public var entries: [Entry]

    public init(instance: PlacementInstance, placement: Placement) throws(PlacementError) {
        let model = try CostModel(instance)
        let problem = model.problem
        let hosts = try model.indexedHosts(placement.hosts)
        let used = problem.memoryUsed(hosts: hosts)
        let (route, load) = problem.route(hosts: hosts)
        let base = problem.evaluate(route: route, load: load).objective
        let loaded = Set(placement.loads.map { "\($0.module)@\($0.device)" })
        let replanned = placement.steps.first?.hasPrefix("re-plan") ?? false
        let order = problem.neededModules.sorted { a, b in
            problem.moduleWork[a] != problem.moduleWork[b] ? problem.moduleWork[a] > problem.moduleWork[b] : a < b
        }
        var entries: [Entry] = []
        for (rank, m) in order.enumerated() {
            let module = instance.modules[m]
            for d in hosts[m] {
                var trial = hosts
                var best: (device: Int, delta: Double)?
                for other in 0..<problem.deviceCount where !hosts[m].contains(other) {
                    guard used[other] + problem.moduleMemory[m] <= problem.memory[other] else { continue }
                    trial[m] = (hosts[m].filter { $0 != d } + [other]).sorted()
                    let moved = problem.route(hosts: trial)
                    let delta = problem.evaluate(route: moved.route, load: moved.load).objective - base
                    if best == nil || delta < best!.delta { best = (other, delta) }
                }
                var reasons: [String] = []
                if replanned && !loaded.contains("\(module.id)@\(instance.devices[d].id)") {
                    reasons.append("kept from the previous plan")
                }
                if hosts[m].count > 1 {
                    let routed = (0..<problem.nodeCount).filter { problem.nodeModule[$0] == m && route[$0] == d }
                    let tasks = Set(routed.map { instance.tasks[problem.nodeTask[$0]].id }).sorted()
                    let position = (hosts[m].firstIndex(of: d) ?? 0) + 1
                    reasons.append("replica \(position) of \(hosts[m].count), serving \(tasks.joined(separator: ", "))")
                }
                let neighbours = Self.neighbours(of: m, on: d, problem: problem, route: route)
                if !neighbours.isEmpty {
                    reasons.append("next to \(neighbours.joined(separator: ", ")) (no transfer between them)")
                }
                let fitting = (0..<problem.deviceCount).filter { problem.memory[$0] >= problem.moduleMemory[m] }
                if fitting.allSatisfy({ problem.speed[$0] <= problem.speed[d] }) {
                    reasons.append("the fastest device that can hold it")
                }
                let gflop = PlacementProblem.decimal(module.gflop, places: 2)
                reasons.append(
                    "placed \(rank + 1)\(Self.ordinal(rank + 1)) of \(order.count) by compute "
                        + "(\(gflop) GFLOP, \(PlacementProblem.bytes(module.memoryBytes)))")
                entries.append(
                    Entry(
                        module: module.id, device: instance.devices[d].id, reason: reasons.joined(separator: "; "),
                        runnerUp: best.map { instance.devices[$0.device].id }, runnerUpDeltaSeconds: best?.delta))
            }
        }
        self.entries = entries
    }

    /// One line per module copy.
    public var text: String {
        entries.map { entry in
            var line = "\(entry.module) → \(entry.device): \(entry.reason)."
            if let runnerUp = entry.runnerUp, let delta = entry.runnerUpDeltaSeconds {
                let sign = delta >= 0 ? "+" : "−"
                line += " Runner-up \(runnerUp): objective \(sign)\(PlacementProblem.decimal(abs(delta) * 1000, places: 3)) ms."
            } else {
                line += " No other device has room for it."
            }
            return line
        }.joined(separator: "\n")
    }

    private static func neighbours(of m: Int, on d: Int, problem: PlacementProblem, route: [Int]) -> [String] {
        var names = Set<String>()
        for n in problem.moduleNodes[m] where route[n] == d {
            for k in problem.inputStart[n]..<problem.inputStart[n + 1] {
                let producer = problem.inputProducer[k]
                if producer >= 0 && route[producer] == d && problem.nodeModule[producer] != m {
                    names.insert(problem.instance.modules[problem.nodeModule[producer]].id)
                }
            }
            for consumer in problem.taskNodes[problem.nodeTask[n]] where route[consumer] == d {
                for k in problem.inputStart[consumer]..<problem.inputStart[consumer + 1]
                where problem.inputProducer[k] == n && problem.nodeModule[consumer] != m {
                    names.insert(problem.instance.modules[problem.nodeModule[consumer]].id)
                }
            }
        }
        return names.sorted()
    }

    private static func ordinal(_ n: Int) -> String {
        if (11...13).contains(n % 100) { return "th" }
        switch n % 10 {
        case 1: return "st"
        case 2: return "nd"
        case 3: return "rd"
        default: return "th"
        }
    }
}

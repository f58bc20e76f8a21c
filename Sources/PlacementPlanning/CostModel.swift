import S2M3Core
/// Predicts task latencies for a given placement: the public face of the cost model.
///
/// The model (docs/placement.md has it with formulas):
/// - a module's compute time on a device is `gflop / gflops`, stretched by `1 / (1 − ρ)` where
///   `ρ` is the device's utilisation (the GFLOP/s its routed invocations demand over its speed);
///   a device at `ρ ≥ 1` is saturated and the latency is infinite;
/// - the broker is the hub: data crossing from device A to device B crosses A's link and B's link
///   (latency + bytes / bandwidth each); on one device it is free; a request's inputs cross the
///   first device's link once and each result crosses its device's link once;
/// - a task's latency is the critical path of its DAG, a device running one invocation at a time
///   (a 0-GFLOP one too) in the task's topological order with ready nodes in declaration order;
///   the objective is the mean of task latencies weighted by rate × priority;
/// - a module on several devices is routed per node: each node to the replica where it would
///   finish first given the load routed so far.
public struct CostModel: Sendable {
    let problem: PlacementProblem

    public init(_ instance: PlacementInstance) throws(PlacementError) {
        problem = try PlacementProblem(instance)
    }

    init(problem: PlacementProblem) {
        self.problem = problem
    }

    /// The cost model's verdict on one placement.
    public struct Evaluation: Sendable, Equatable {
        /// Predicted latency per task, in seconds.
        public var taskLatencySeconds: [String: Double]
        /// Mean task latency weighted by rate × priority, in seconds.
        public var objectiveSeconds: Double
        /// Per task, which device runs each node.
        public var routes: [String: [String: String]]
        public var deviceMemoryUsedBytes: [String: Int]
        /// Demanded GFLOP/s over the device's GFLOP/s.
        public var deviceUtilization: [String: Double]
        /// Devices whose memory budget the placement exceeds (empty when it fits).
        public var devicesOverMemory: [String]
    }

    /// Evaluates `hosts` (module id → device ids). Every module a task invokes must have a host.
    public func evaluate(hosts: [String: [String]]) throws(PlacementError) -> Evaluation {
        let indexed = try indexedHosts(hosts)
        let (route, load) = problem.route(hosts: indexed)
        return evaluation(hosts: indexed, route: route, load: load)
    }

    func indexedHosts(_ hosts: [String: [String]]) throws(PlacementError) -> [[Int]] {
        var indexed = [[Int]](repeating: [], count: problem.moduleCount)
        for (module, devices) in hosts {
            guard let m = problem.moduleIndex[module] else {
                throw PlacementError(.invalidPlacement, "the placement names module '\(module)', which the instance does not declare")
            }
            for device in devices {
                guard let d = problem.deviceIndex[device] else {
                    throw PlacementError(
                        .invalidPlacement, "the placement puts '\(module)' on device '\(device)', which the instance does not declare")
                }
                if !indexed[m].contains(d) { indexed[m].append(d) }
            }
            indexed[m].sort()
        }
        for m in problem.neededModules where indexed[m].isEmpty {
            throw PlacementError(
                .invalidPlacement, "module '\(problem.instance.modules[m].id)' is used by a task but has no device")
        }
        return indexed
    }

    func evaluation(hosts: [[Int]], route: [Int], load: [Double]) -> Evaluation {
        let (latencies, objective) = problem.evaluate(route: route, load: load)
        let instance = problem.instance
        var routes: [String: [String: String]] = [:]
        for (t, task) in instance.tasks.enumerated() {
            var nodes: [String: String] = [:]
            for n in problem.taskNodes[t] where route[n] >= 0 {
                nodes[task.graph.nodes[problem.nodeLocal[n]].id] = instance.devices[route[n]].id
            }
            routes[task.id] = nodes
        }
        let used = problem.memoryUsed(hosts: hosts)
        var memory: [String: Int] = [:]
        var utilisation: [String: Double] = [:]
        var over: [String] = []
        for (d, device) in instance.devices.enumerated() {
            memory[device.id] = used[d]
            utilisation[device.id] = load[d] / problem.speed[d]
            if used[d] > problem.memory[d] { over.append(device.id) }
        }
        return Evaluation(
            taskLatencySeconds: Dictionary(uniqueKeysWithValues: zip(instance.tasks.map(\.id), latencies)),
            objectiveSeconds: objective, routes: routes, deviceMemoryUsedBytes: memory,
            deviceUtilization: utilisation, devicesOverMemory: over)
    }
}

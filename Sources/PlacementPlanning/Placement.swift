import S2M3Core
/// A placement: which devices host each module, how each task is routed over them, and what the
/// cost model predicts. Deterministic for the same instance, algorithm, previous placement and
/// options (unless a wall-clock limit cut the search, which `steps` then says).
///
/// Codable so a planner can publish it and read it back to re-plan from it.
public struct Placement: Sendable, Hashable, Codable {
    /// One module copy on one device.
    public struct ModuleOnDevice: Sendable, Hashable, Codable, Comparable {
        public var module: String
        public var device: String

        public init(module: String, device: String) {
            self.module = module
            self.device = device
        }

        public static func < (a: Self, b: Self) -> Bool {
            a.module != b.module ? a.module < b.module : a.device < b.device
        }
    }

    public var algorithm: PlacementAlgorithm
    /// What the solver did, in order, in words (e.g. "branch and bound: proved optimal, 812 nodes").
    public var steps: [String]
    /// Module id → ids of the devices hosting it (in device declaration order). Modules no task
    /// uses are absent.
    public var hosts: [String: [String]]
    /// Task id → node id → device id running that node.
    public var routes: [String: [String: String]]
    public var taskLatencySeconds: [String: Double]
    /// Mean task latency weighted by rate × priority.
    public var objectiveSeconds: Double
    /// True when branch and bound proved the single-copy part optimal (replicas added afterwards
    /// only lower the objective further).
    public var provenOptimal: Bool
    /// True when a budget cut a search short: branch and bound's decisions, or the solve's time
    /// limit in local search, branch and bound or replica planning (`steps` says which).
    public var budgetExhausted: Bool
    /// Branch-and-bound decisions explored (0 when it did not run).
    public var searchNodes: Int
    /// Module copies loaded on a device that did not hold them in the previous placement.
    public var loads: [ModuleOnDevice]
    /// Module copies the previous placement had on a device still present that this one drops.
    public var unloads: [ModuleOnDevice]
    /// Declared modules that no task invokes (not placed).
    public var unusedModules: [String]
    public var deviceMemoryUsedBytes: [String: Int]
    public var deviceUtilization: [String: Double]

    /// Number of module copies that had to be loaded somewhere new (re-planning keeps this minimal).
    public var moves: Int { loads.count }
}

/// A placement and how long the solver took (kept apart so placements compare equal across runs).
public struct PlacementResult: Sendable {
    public var placement: Placement
    public var solveSeconds: Double
}

extension Placement {
    /// Places the instance's modules with `algorithm`.
    ///
    /// With `previous` (re-planning), every module keeps the hosts it had that are still devices of
    /// the instance (as far as their memory and compute allow), only modules left without a host
    /// are placed anew, and no replicas are added: the plan moves as few modules as possible and
    /// reports them in ``loads``.
    ///
    /// Throws ``PlacementError`` for an invalid instance, or when nothing fits (the message names
    /// the module and the free memory per device).
    public static func solve(
        _ instance: PlacementInstance, algorithm: PlacementAlgorithm = .auto, previous: Placement? = nil,
        options: PlacementOptions = PlacementOptions()
    ) throws(PlacementError) -> PlacementResult {
        try solve(instance, algorithm: algorithm, previousHosts: previous?.hosts, options: options)
    }

    /// As ``solve(_:algorithm:previous:options:)`` with the previous placement given as module id →
    /// device ids (e.g. the assignments devices report).
    public static func solve(
        _ instance: PlacementInstance, algorithm: PlacementAlgorithm = .auto, previousHosts: [String: [String]]?,
        options: PlacementOptions = PlacementOptions()
    ) throws(PlacementError) -> PlacementResult {
        let clock = ContinuousClock()
        let start = clock.now
        let problem = try PlacementProblem(instance)
        var solver = PlacementSolver(
            problem: problem, algorithm: algorithm, options: options, previousHosts: previousHosts,
            deadline: PlacementSolver.deadline(startingAt: start, algorithm: algorithm, options: options))
        let placement = try solver.solve()
        // The instance's bounds keep every latency finite; this is the last line of defence.
        guard placement.objectiveSeconds.isFinite, placement.taskLatencySeconds.values.allSatisfy(\.isFinite) else {
            throw PlacementError(
                .invalidValue, "the objective is not a finite number (\(placement.objectiveSeconds) s); check the instance's rates, priorities and speeds")
        }
        let elapsed = clock.now - start
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
        return PlacementResult(placement: placement, solveSeconds: seconds)
    }
}

import S2M3Core
/// Which algorithm places the modules.
public enum PlacementAlgorithm: String, Sendable, Hashable, Codable, CaseIterable {
    /// The paper's rule: modules by compute cost, largest first, each to the device with room where
    /// the latency predicted so far is lowest. Fast; optimal on most small instances, not all.
    case greedy
    /// Branch and bound over single-copy placements, seeded with greedy + local search; proves
    /// optimality unless its budget runs out (reported).
    case exact
    /// Greedy + local search (moves, swaps); branch and bound when the instance is small enough;
    /// then replicas of modules where they pay and memory allows, with per-task routes over them.
    case auto
}

/// Budgets and switches of the solver. The node and evaluation limits are deterministic; the time
/// limits bound the whole solve (greedy excepted, which always finishes): local search, branch and
/// bound and replica planning stop at the solve's deadline with the best placement found, and the
/// plan reports it (`budgetExhausted`, `steps`); such a result may vary by machine.
public struct PlacementOptions: Sendable, Hashable {
    /// Branch-and-bound decisions allowed for `exact`.
    public var exactNodeLimit: Int
    /// Wall-clock limit of a whole `exact` solve.
    public var exactTimeLimit: Duration
    /// `auto` runs branch and bound when at most this many modules are free to place…
    public var autoExactModuleLimit: Int
    /// …and there are at most this many devices: one decision bounds a child per device, each
    /// over every device, so with hundreds of devices the search decides a handful of modules in
    /// its time and proves nothing.
    public var autoExactDeviceLimit: Int
    /// Branch-and-bound decisions allowed inside `auto`.
    public var autoExactNodeLimit: Int
    /// Wall-clock limit of a whole `auto` solve (named when it bounded only its branch and bound).
    public var autoExactTimeLimit: Duration
    /// Task-latency evaluations allowed to local search.
    public var localSearchEvaluationLimit: Int
    /// Full evaluations allowed to the replica planner.
    public var replicaEvaluationLimit: Int
    /// Whether `auto` adds replicas (never when re-planning, which minimises moves).
    public var replicas: Bool
    /// A wall-clock instant no solve runs past (greedy excepted), whatever its own limit: a caller
    /// that solves several times for one decision (the planner) gives them one shared deadline.
    public var deadline: ContinuousClock.Instant?

    public init(
        exactNodeLimit: Int = 50_000_000, exactTimeLimit: Duration = .seconds(60),
        autoExactModuleLimit: Int = 32, autoExactDeviceLimit: Int = 64, autoExactNodeLimit: Int = 1_000_000,
        autoExactTimeLimit: Duration = .seconds(2), localSearchEvaluationLimit: Int = 4_000_000,
        replicaEvaluationLimit: Int = 2_000, replicas: Bool = true
    ) {
        self.exactNodeLimit = exactNodeLimit
        self.exactTimeLimit = exactTimeLimit
        self.autoExactModuleLimit = autoExactModuleLimit
        self.autoExactDeviceLimit = autoExactDeviceLimit
        self.autoExactNodeLimit = autoExactNodeLimit
        self.autoExactTimeLimit = autoExactTimeLimit
        self.localSearchEvaluationLimit = localSearchEvaluationLimit
        self.replicaEvaluationLimit = replicaEvaluationLimit
        self.replicas = replicas
    }
}

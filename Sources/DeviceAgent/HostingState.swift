import S2M3Core

/// What a device hosts and how it answers assignments (pure state; the agent loads and unloads).
///
/// The rules (topics.md, `devices/{device}/assignment`): an assignment older than the newest one
/// handled is ignored; one naming a module the catalog lacks, a digest other than the catalog's,
/// or needing more memory than the budget leaves for modules (the budget less the device's own
/// footprint, ``baseBytes``; counted with the planner's `memoryBytes`) is refused
/// and nothing changes. Otherwise the device loads the missing modules and unloads the rest, in an
/// order that never holds more than the budget: loads first when old and new fit together (so a
/// failed load can be rolled back to exactly what it had), unloads first otherwise.
public struct HostingState: Sendable {
    /// A module the device hosts (or is about to), as its assignment names it: module, catalog
    /// digest, and the memory counted for it (the planner's `memoryBytes`).
    public typealias Hosted = DeviceAssignment.HostedModule

    /// Loads and unloads that bring the device to an assignment.
    public struct Change: Sendable, Hashable {
        /// The assignment's epoch (nil: the assignment was cleared).
        public var epoch: Int?
        public var load: [Hosted]
        public var unload: [String]
        /// Modules kept, with the memory counted for them now.
        public var keep: [Hosted]
        /// Unload before loading (old and new together would overrun the budget).
        public var unloadFirst: Bool
    }

    public enum Decision: Sendable, Hashable {
        /// Older than an assignment already handled: nothing to do.
        case ignore(String)
        /// Would overrun the budget or does not match the catalog; the report says why.
        case refuse(String)
        case apply(Change)
    }

    public let device: String
    /// The whole process's memory budget.
    public let budgetBytes: Int
    /// The process's own footprint, measured at start: modules get `budgetBytes − baseBytes`.
    public let baseBytes: Int
    /// What the modules may use together.
    public var moduleBudgetBytes: Int { max(0, budgetBytes - baseBytes) }
    /// Catalog digest per module id.
    public let catalogDigests: [String: String]
    public private(set) var hosted: [String: Hosted] = [:]
    /// What telemetry reports about the latest assignment (nil: none, or cleared).
    public private(set) var report: DeviceTelemetry.AssignmentReport?
    /// The newest epoch handled (applied, refused or being applied).
    public private(set) var newestEpoch: Int?

    public init(device: String, budgetBytes: Int, baseBytes: Int = 0, catalogDigests: [String: String]) {
        self.device = device
        self.budgetBytes = budgetBytes
        self.baseBytes = baseBytes
        self.catalogDigests = catalogDigests
    }

    /// Memory counted for the hosted modules, bytes.
    public var usedBytes: Int { hosted.values.reduce(0) { $0 + $1.memoryBytes } }

    /// Decides what to do with `assignment` (nil: the retained assignment was cleared, unload all).
    /// A refusal updates ``report``; an application sets it to `loading` until ``finish(failure:)``.
    public mutating func decide(_ assignment: DeviceAssignment?) -> Decision {
        guard let assignment else {
            report = nil
            let change = Change(epoch: nil, load: [], unload: hosted.keys.sorted(), keep: [], unloadFirst: true)
            return .apply(change)
        }
        if let newestEpoch, assignment.epoch < newestEpoch {
            return .ignore("assignment epoch \(assignment.epoch) is older than epoch \(newestEpoch) already handled")
        }
        newestEpoch = assignment.epoch
        if let reason = problem(with: assignment) {
            report = .init(epoch: assignment.epoch, status: .refused, reason: reason)
            return .refuse(reason)
        }
        let target = assignment.modules
        let load = target.filter { hosted[$0.module] == nil }
        let keep = target.filter { hosted[$0.module] != nil }
        let unload = hosted.keys.filter { id in !target.contains { $0.module == id } }.sorted()
        let loadBytes = load.reduce(0) { $0 + $1.memoryBytes }
        let unloadFirst = usedBytes + loadBytes > moduleBudgetBytes
        report = .init(epoch: assignment.epoch, status: .loading)
        return .apply(Change(epoch: assignment.epoch, load: load, unload: unload, keep: keep, unloadFirst: unloadFirst))
    }

    private func problem(with assignment: DeviceAssignment) -> String? {
        if assignment.device != device {
            return "assignment is for device '\(assignment.device)', this is '\(device)'"
        }
        var seen: Set<String> = []
        for module in assignment.modules {
            guard seen.insert(module.module).inserted else { return "module '\(module.module)' is assigned twice" }
            guard let digest = catalogDigests[module.module] else {
                return "module '\(module.module)' is not in this device's catalog; check that the planner and the device use the same catalog"
            }
            guard Self.sameDigest(digest, module.digest) else {
                return "module '\(module.module)' has digest \(module.digest) in the assignment but \(digest) in this device's catalog; check that the planner and the device use the same catalog and models"
            }
        }
        let needed = assignment.totalMemoryBytes
        if needed > moduleBudgetBytes {
            return "the assignment needs \(MemoryAmount.text(needed)) (\(needed) bytes) but the memory budget \(MemoryAmount.text(budgetBytes)) "
                + "less the agent's own \(MemoryAmount.text(baseBytes)) leaves \(MemoryAmount.text(moduleBudgetBytes)) (\(moduleBudgetBytes) bytes) for modules; nothing was loaded"
        }
        return nil
    }

    /// Digests compare as lowercase hex; a `sha256:` prefix (as in topics.md's examples) is optional.
    static func sameDigest(_ a: String, _ b: String) -> Bool {
        func bare(_ digest: String) -> String {
            let lower = digest.lowercased()
            return lower.hasPrefix("sha256:") ? String(lower.dropFirst(7)) : lower
        }
        return bare(a) == bare(b)
    }

    /// A module is now loaded.
    public mutating func loaded(_ module: Hosted) { hosted[module.module] = module }

    /// A module is now unloaded.
    public mutating func unloaded(_ module: String) { hosted[module] = nil }

    /// The memory counted for a kept module changed (a new assignment counts it differently).
    public mutating func recount(_ module: Hosted) {
        if hosted[module.module] != nil { hosted[module.module] = module }
    }

    /// Ends the application of `change`: `applied`, or `refused` with the failure (a load failed).
    public mutating func finish(_ change: Change, failure: String?) {
        guard let epoch = change.epoch, epoch == newestEpoch else { return }
        report = failure.map { .init(epoch: epoch, status: .refused, reason: $0) } ?? .init(epoch: epoch, status: .applied)
    }
}

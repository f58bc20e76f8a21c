/// Memory with and without sharing, per task and for all tasks, from measured module memory.
///
/// Without sharing every module invocation holds its own copy (a monolithic model per task, one
/// copy per branch). With sharing, invocations of modules with equal digests use one copy: within a
/// task, and across all tasks for the total.
public struct SharingReport: Sendable, Hashable, Codable {
    public struct TaskRow: Sendable, Hashable, Codable {
        public let task: String
        public let unsharedBytes: Int
        public let sharedBytes: Int
        /// Shared module id → the other tasks that use it.
        public let sharedWith: [String: [String]]
        /// Node count per shared module id (more than one: shared inside the task).
        public let invocations: [String: Int]
        public var savingPercent: Double { SharingReport.percent(unsharedBytes, sharedBytes) }
    }

    public let tasks: [TaskRow]
    public let unsharedBytes: Int
    public let sharedBytes: Int
    public var savingPercent: Double { Self.percent(unsharedBytes, sharedBytes) }

    /// `memory` maps a *shared* module id (``ModuleCatalog/sharedID``) to its resident bytes; missing
    /// ids count as 0.
    public init(catalog: ModuleCatalog, memory: [String: Int]) {
        func shared(_ node: String) -> String { catalog.sharedID[node] ?? node }
        var usedBy: [String: [String]] = [:]
        for task in catalog.tasks {
            for module in Set(task.graph.nodes.map { shared($0.module) }) { usedBy[module, default: []].append(task.id) }
        }
        var rows: [TaskRow] = []
        var allModules: Set<String> = []
        var totalUnshared = 0
        for task in catalog.tasks {
            let modules = task.graph.nodes.map { shared($0.module) }
            let unshared = modules.reduce(0) { $0 + (memory[$1] ?? 0) }
            let distinct = Set(modules)
            let sharedBytes = distinct.reduce(0) { $0 + (memory[$1] ?? 0) }
            var counts: [String: Int] = [:]
            for module in modules { counts[module, default: 0] += 1 }
            var with: [String: [String]] = [:]
            for module in distinct {
                let others = (usedBy[module] ?? []).filter { $0 != task.id }
                if !others.isEmpty { with[module] = others }
            }
            rows.append(TaskRow(
                task: task.id, unsharedBytes: unshared, sharedBytes: sharedBytes, sharedWith: with, invocations: counts))
            allModules.formUnion(distinct)
            totalUnshared += unshared
        }
        tasks = rows
        unsharedBytes = totalUnshared
        sharedBytes = allModules.reduce(0) { $0 + (memory[$1] ?? 0) }
    }

    static func percent(_ unshared: Int, _ shared: Int) -> Double {
        unshared == 0 ? 0 : Double(unshared - shared) / Double(unshared) * 100
    }
}

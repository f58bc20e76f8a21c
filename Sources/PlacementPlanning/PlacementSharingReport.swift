import S2M3Core
/// Memory saved by splitting models into modules and sharing identical modules, per task and for
/// all tasks together (the paper reports up to 50 % for a single task and 62 % for several).
///
/// Three deployments are compared, for the models a scope's task nodes name (`TaskNode.models`):
/// - **monolithic**: every model loaded whole (all modules ``PlacementInstance/models`` lists for it);
/// - **split**: only the modules the tasks invoke, but one copy per model (no sharing across models);
/// - **split + shared**: every distinct module once.
/// "Saved by sharing" is 1 − shared / split; "saved in total" is 1 − shared / monolithic. For all
/// tasks two baselines are given: models deduplicated across tasks, and each task deployed on its own.
public struct PlacementSharingReport: Sendable {
    public struct Row: Sendable, Hashable {
        public var scope: String
        public var models: [String]
        public var monolithicBytes: Int
        public var splitBytes: Int
        public var sharedBytes: Int

        public var savedBySharing: Double { splitBytes == 0 ? 0 : 1 - Double(sharedBytes) / Double(splitBytes) }
        public var savedInTotal: Double { monolithicBytes == 0 ? 0 : 1 - Double(sharedBytes) / Double(monolithicBytes) }
    }

    public var tasks: [Row]
    /// All tasks, each model deployed once.
    public var allTasks: Row
    /// All tasks, each task with its own deployment of its models.
    public var allTasksSeparately: Row

    public init(_ instance: PlacementInstance) {
        let memory = Dictionary(instance.modules.map { ($0.id, $0.memoryBytes) }, uniquingKeysWith: { a, _ in a })
        let declared = Dictionary(instance.models.map { ($0.id, $0.modules) }, uniquingKeysWith: { a, _ in a })

        struct Use: Hashable {
            let model: String
            let module: String
        }
        func uses(_ task: PlacementTask) -> Set<Use> {
            Set(task.graph.nodes.flatMap { node in
                (node.models.isEmpty ? ["module:\(node.module)"] : node.models).map { Use(model: $0, module: node.module) }
            })
        }
        func row(_ scope: String, _ used: Set<Use>) -> Row {
            let models = Set(used.map(\.model))
            let monolithic = models.reduce(0) { sum, model in
                let modules = declared[model] ?? used.filter { $0.model == model }.map(\.module)
                return sum + Set(modules).reduce(0) { $0 + (memory[$1] ?? 0) }
            }
            let split = used.reduce(0) { $0 + (memory[$1.module] ?? 0) }
            let shared = Set(used.map(\.module)).reduce(0) { $0 + (memory[$1] ?? 0) }
            return Row(
                scope: scope, models: models.filter { !$0.hasPrefix("module:") }.sorted(), monolithicBytes: monolithic,
                splitBytes: split, sharedBytes: shared)
        }

        tasks = instance.tasks.map { row($0.id, uses($0)) }
        let everything = instance.tasks.reduce(into: Set<Use>()) { $0.formUnion(uses($1)) }
        allTasks = row("all tasks", everything)
        allTasksSeparately = Row(
            scope: "all tasks, each deployed separately", models: allTasks.models,
            monolithicBytes: tasks.reduce(0) { $0 + $1.monolithicBytes }, splitBytes: tasks.reduce(0) { $0 + $1.splitBytes },
            sharedBytes: allTasks.sharedBytes)
    }

    /// The report as a Markdown table.
    public func markdown() -> String {
        var lines = [
            "| scope | models | monolithic | split | split + shared | saved by sharing | saved in total |",
            "|---|---|---:|---:|---:|---:|---:|",
        ]
        for row in tasks + [allTasks, allTasksSeparately] {
            let models = row.scope.hasPrefix("all") ? "\(row.models.count) models" : row.models.joined(separator: ", ")
            lines.append(
                "| \(row.scope) | \(models) | \(PlacementProblem.bytes(row.monolithicBytes)) | "
                    + "\(PlacementProblem.bytes(row.splitBytes)) | \(PlacementProblem.bytes(row.sharedBytes)) | "
                    + "\(PlacementProblem.decimal(row.savedBySharing * 100, places: 1)) % | "
                    + "\(PlacementProblem.decimal(row.savedInTotal * 100, places: 1)) % |")
        }
        lines.append("")
        lines.append("Paper (S2M3, ICDCS 2025): up to 50 % saved for a single task, up to 62 % for several tasks.")
        return lines.joined(separator: "\n")
    }
}

import S2M3Core

/// Several tasks on the same data as ONE graph, in which identical nodes — the same module reading
/// the same inputs — appear once (docs/streams.md): for a camera frame, `image-preprocess` →
/// `effnet-lite0-trunk` runs once for every image task subscribed to the source.
///
/// Inputs named in `shared` (the frame) are one input of the merged graph; every other input is the
/// task's own (`{task}.{input}`), so two tasks given different texts never share what reads them.
/// Nodes are merged in each task's execution order: a node is the same as an earlier one when its
/// module and its (already merged) inputs are the same. The merged graph runs like any task (one
/// ``TaskBinding``); each member's result and timeline are read back from the merged values.
public struct MergedTasks: Sendable {
    /// One task of the merge: its own binding and where its nodes and inputs went.
    public struct Member: Sendable {
        public let binding: TaskBinding
        /// The task's node and input ids → ids in the merged graph.
        public let ids: [String: String]
        /// Merged ids of the task's output nodes.
        public let outputs: [String]
    }

    /// The id of the merged graph's task (what its invocations carry as `task`).
    public static let taskID = "stream"

    public let members: [Member]
    /// The merged graph, bound to the catalog.
    public let binding: TaskBinding
    /// Merged node id → the member tasks whose graphs contain it.
    public let users: [String: [String]]

    /// - Parameters:
    ///   - tasks: distinct tasks, in the order their results are wanted.
    ///   - shared: input ids that are the same data for every task that declares them.
    public init(tasks: [ModuleCatalog.Task], shared: Set<String>, catalog: ModuleCatalog) throws(CatalogError) {
        var inputs: [TaskGraph.Input] = []
        var nodes: [TaskNode] = []
        var byKey: [String: String] = [:]
        var taken: Set<String> = []
        var members: [Member] = []
        var users: [String: [String]] = [:]
        for task in tasks {
            let binding = try TaskBinding(task: task, catalog: catalog)
            guard !members.contains(where: { $0.binding.task.id == task.id }) else {
                throw CatalogError(.invalidTask, entry: task.id, "the task is listed twice in one merge")
            }
            var ids: [String: String] = [:]
            for input in task.graph.inputs {
                let id = shared.contains(input.id) ? input.id : "\(task.id).\(input.id)"
                if taken.insert(id).inserted { inputs.append(TaskGraph.Input(id: id, bytes: input.bytes)) }
                ids[input.id] = id
            }
            for node in binding.nodes {
                let reads = node.inputs.map { ids[$0]! }
                let key = ([node.module] + reads).joined(separator: "\u{1}")
                let id: String
                if let existing = byKey[key] {
                    id = existing
                } else {
                    id = taken.contains(node.id) ? "\(task.id).\(node.id)" : node.id
                    guard taken.insert(id).inserted else {
                        throw CatalogError(.invalidTask, entry: task.id, "node id '\(id)' collides in the merged graph")
                    }
                    byKey[key] = id
                    nodes.append(TaskNode(id: id, module: node.module, inputs: reads, models: node.models))
                }
                ids[node.id] = id
                users[id, default: []].append(task.id)
            }
            members.append(Member(binding: binding, ids: ids, outputs: task.outputNodes.map { ids[$0]! }))
        }
        guard !members.isEmpty else { throw CatalogError(.invalidTask, entry: Self.taskID, "a merge needs at least one task") }
        var outputs: [String] = []
        for member in members { for id in member.outputs where !outputs.contains(id) { outputs.append(id) } }
        let merged = ModuleCatalog.Task(
            id: Self.taskID, description: "merged: \(tasks.map(\.id).joined(separator: ", "))",
            graph: TaskGraph(inputs: inputs, nodes: nodes), outputNodes: outputs)
        binding = try TaskBinding(task: merged, catalog: catalog)
        self.members = members
        self.users = users
    }

    /// The member running `task`, if any.
    public func member(_ task: String) -> Member? { members.first { $0.binding.task.id == task } }

    /// The merged graph's input values from each member's own (``TaskBinding/inputValues(_:)``),
    /// keyed by task id.
    public func inputValues(_ perTask: [String: [String: TensorBundle]]) -> [String: TensorBundle] {
        var values: [String: TensorBundle] = [:]
        for member in members {
            for input in member.binding.task.graph.inputs {
                guard values[id(of: input.id, in: member)] == nil, let value = perTask[member.binding.task.id]?[input.id],
                      let id = member.ids[input.id] else { continue }
                // A task input's value holds one tensor named after the input: renamed with it.
                var renamed = TensorBundle()
                if let tensor = value[input.id] {
                    try? renamed.set(tensor, named: id)
                    renamed.metadata[TensorBundle.contentTypeKeyPrefix + id] = value.contentType(of: input.id)
                }
                values[id] = renamed
            }
        }
        return values
    }

    private func id(of input: String, in member: Member) -> String { member.ids[input] ?? input }

    /// Whether every output node of `member` is among `finished` (merged node ids).
    public func isReady(_ member: Member, finished: Set<String>) -> Bool {
        member.outputs.allSatisfy(finished.contains)
    }

    /// `member`'s result from the merged graph's values, exactly as its task would give it alone.
    public func result(of member: Member, values: [String: TensorBundle]) throws(TaskBindingError) -> [String: TaskOutput] {
        var own: [String: TensorBundle] = [:]
        for (id, merged) in member.ids { own[id] = values[merged] }
        return try member.binding.result(values: own)
    }

    /// The merged timeline's entries of `member`'s nodes, under the task's own node ids, each
    /// naming the other tasks that shared it.
    public func timeline(of member: Member, entries: [TaskTimelineEntry]) -> [TaskTimelineEntry] {
        let task = member.binding.task.id
        var own: [String: String] = [:]
        for node in member.binding.nodes { own[member.ids[node.id]!] = node.id }
        return entries.compactMap { entry in
            guard let id = own[entry.node] else { return nil }
            var copy = entry
            copy.node = id
            copy.chainedAfter = entry.chainedAfter.flatMap { own[$0] }
            let others = (users[entry.node] ?? []).filter { $0 != task }
            copy.sharedWith = others.isEmpty ? nil : others
            return copy
        }
    }
}

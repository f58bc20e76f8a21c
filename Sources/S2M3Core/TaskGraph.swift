/// A task as a directed acyclic graph of module invocations.
///
/// Each ``TaskNode`` invokes one module; its `inputs` name either a task input (data that arrives
/// with the request, such as an image) or another node whose output it consumes. Several nodes may
/// invoke the same module (the module is loaded once per hosting device and run twice).
///
/// The graph is pure data: ``validate()`` checks it and ``topologicalOrder()`` orders it; both are
/// deterministic (ties broken by declaration order), so every component that walks a task walks it
/// the same way. The placement solver and the runtime catalog both use this type.
public struct TaskGraph: Sendable, Hashable, Codable {
    /// Data that arrives with a request: bound by name from node inputs.
    public struct Input: Sendable, Hashable, Codable {
        public var id: String
        /// Size on the wire (used by the cost model for the transfer to the first module); 0 if unknown.
        public var bytes: Int

        public init(id: String, bytes: Int = 0) {
            self.id = id
            self.bytes = bytes
        }
    }

    public var inputs: [Input]
    public var nodes: [TaskNode]

    public init(inputs: [Input], nodes: [TaskNode]) {
        self.inputs = inputs
        self.nodes = nodes
    }

    /// Where a node input comes from.
    public enum Source: Sendable, Hashable {
        case input(Int)
        case node(Int)
    }

    /// Checks ids, bindings and acyclicity; throws the first problem found.
    public func validate() throws(TaskGraphError) {
        _ = try topologicalOrder()
    }

    /// Resolves every node's inputs to indices; throws on unknown or duplicate ids.
    public func resolvedSources() throws(TaskGraphError) -> [[Source]] {
        if nodes.isEmpty {
            throw TaskGraphError(.empty, "the task has no nodes: add at least one module invocation")
        }
        var names: [String: Source] = [:]
        for (index, input) in inputs.enumerated() {
            if input.id.isEmpty { throw TaskGraphError(.invalidID, "input \(index) has an empty id") }
            if names[input.id] != nil {
                throw TaskGraphError(.duplicateID, "input id '\(input.id)' is declared twice")
            }
            names[input.id] = .input(index)
        }
        for (index, node) in nodes.enumerated() {
            if node.id.isEmpty { throw TaskGraphError(.invalidID, "node \(index) has an empty id") }
            if names[node.id] != nil {
                throw TaskGraphError(
                    .duplicateID, "node id '\(node.id)' is used twice (node and input ids share one namespace)")
            }
            names[node.id] = .node(index)
        }
        var sources: [[Source]] = []
        sources.reserveCapacity(nodes.count)
        for node in nodes {
            var list: [Source] = []
            for name in node.inputs {
                guard let source = names[name] else {
                    throw TaskGraphError(
                        .unknownInput,
                        "node '\(node.id)' reads '\(name)', which is neither a task input nor a node")
                }
                list.append(source)
            }
            sources.append(list)
        }
        return sources
    }

    /// Node indices so that every node comes after the nodes it reads (Kahn's algorithm, lowest
    /// declaration index first among the ready nodes). Throws ``TaskGraphError/Code/cycle`` naming
    /// one cycle when there is one.
    public func topologicalOrder() throws(TaskGraphError) -> [Int] {
        let sources = try resolvedSources()
        var indegree = [Int](repeating: 0, count: nodes.count)
        var consumers = [[Int]](repeating: [], count: nodes.count)
        for (index, list) in sources.enumerated() {
            for case .node(let producer) in list {
                indegree[index] += 1
                consumers[producer].append(index)
            }
        }
        var ready = TaskGraphReadyQueue()
        for index in nodes.indices where indegree[index] == 0 { ready.insert(index) }
        var order: [Int] = []
        order.reserveCapacity(nodes.count)
        while let next = ready.popMin() {
            order.append(next)
            for consumer in consumers[next] {
                indegree[consumer] -= 1
                if indegree[consumer] == 0 { ready.insert(consumer) }
            }
        }
        if order.count < nodes.count {
            let cycle = findCycle(sources: sources)
            // A long cycle is shown by its start and end, so the message stays readable.
            let ids = cycle.map { nodes[$0].id }
            let path = ids.count <= 12
                ? ids.joined(separator: " → ")
                : (ids.prefix(6) + ["… (\(ids.count - 1) nodes) …"] + ids.suffix(5)).joined(separator: " → ")
            throw TaskGraphError(.cycle, "the task graph has a cycle: \(path); a node cannot depend on its own output")
        }
        return order
    }

    /// Indices of nodes whose output no other node reads: the task's results.
    public func sinkIndices() throws(TaskGraphError) -> [Int] {
        let sources = try resolvedSources()
        var read = [Bool](repeating: false, count: nodes.count)
        for list in sources {
            for case .node(let producer) in list { read[producer] = true }
        }
        return nodes.indices.filter { !read[$0] }
    }

    /// One cycle as a closed path of node indices (first == last), by depth-first search with an
    /// explicit stack (no recursion: a graph of any depth cannot overflow the thread's stack).
    private func findCycle(sources: [[Source]]) -> [Int] {
        // state: 0 unvisited, 1 on the path, 2 done
        var state = [UInt8](repeating: 0, count: nodes.count)
        // The current path, consumer → producer, with the next source each entry will look at.
        var path: [(node: Int, next: Int)] = []
        for root in nodes.indices where state[root] == 0 {
            state[root] = 1
            path.append((root, 0))
            while let top = path.last {
                let list = sources[top.node]
                guard top.next < list.count else {
                    state[top.node] = 2
                    path.removeLast()
                    continue
                }
                path[path.count - 1].next += 1
                guard case .node(let producer) = list[top.next] else { continue }
                if state[producer] == 1, let start = path.firstIndex(where: { $0.node == producer }) {
                    // The path runs consumer → producer; report in data-flow order.
                    return (path[start...].map(\.node) + [producer]).reversed()
                }
                if state[producer] == 0 {
                    state[producer] = 1
                    path.append((producer, 0))
                }
            }
        }
        return []
    }
}

/// One invocation of a module inside a ``TaskGraph``.
public struct TaskNode: Sendable, Hashable, Codable {
    public var id: String
    /// The module invoked (its catalog id).
    public var module: String
    /// Names of task inputs or other nodes whose outputs this node consumes, in argument order.
    public var inputs: [String]
    /// The published models this invocation serves (usually one; several when models share the
    /// module, e.g. a vision tower two models reuse). Only the sharing report reads it.
    public var models: [String]

    public init(id: String, module: String, inputs: [String], models: [String] = []) {
        self.id = id
        self.module = module
        self.inputs = inputs
        self.models = models
    }
}

/// A problem with a ``TaskGraph``.
public struct TaskGraphError: Error, Sendable, Hashable, CustomStringConvertible {
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        public let name: String
        public static let empty = Code(name: "empty")
        public static let invalidID = Code(name: "invalidID")
        public static let duplicateID = Code(name: "duplicateID")
        public static let unknownInput = Code(name: "unknownInput")
        public static let cycle = Code(name: "cycle")
        public var description: String { name }
    }

    public let code: Code
    public let message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}

/// A small binary min-heap of node indices (deterministic ready queue for Kahn's algorithm).
private struct TaskGraphReadyQueue {
    private var items: [Int] = []

    mutating func insert(_ value: Int) {
        items.append(value)
        var child = items.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            if items[parent] <= items[child] { break }
            items.swapAt(parent, child)
            child = parent
        }
    }

    mutating func popMin() -> Int? {
        guard let first = items.first else { return nil }
        let last = items.removeLast()
        if items.isEmpty { return first }
        items[0] = last
        var parent = 0
        while true {
            let left = 2 * parent + 1
            let right = left + 1
            var smallest = parent
            if left < items.count && items[left] < items[smallest] { smallest = left }
            if right < items.count && items[right] < items[smallest] { smallest = right }
            if smallest == parent { break }
            items.swapAt(parent, smallest)
            parent = smallest
        }
        return first
    }
}

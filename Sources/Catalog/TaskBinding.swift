import S2M3Core

/// How one task's data flows, the same for the one-process runner and the aggregator: which nodes
/// can run once some values exist, the invocation bundle of a node, and the result.
///
/// Values are bundles keyed by task input or node id. A task input's value holds one tensor named
/// after the input (text and media marked by content type); a node's value holds its module's call
/// outputs. A node's arguments are the tensors of the values it names, in order, each value's
/// tensors in its module's output order, renamed by position to the invoked module's call inputs.
public struct TaskBinding: Sendable {
    public let task: ModuleCatalog.Task
    /// The nodes in a valid execution order.
    public let nodes: [TaskNode]
    private let modules: [String: ModuleManifest]

    public init(task: ModuleCatalog.Task, catalog: ModuleCatalog) throws(CatalogError) {
        self.task = task
        do {
            nodes = try task.graph.topologicalOrder().map { task.graph.nodes[$0] }
        } catch {
            throw CatalogError(.invalidTask, entry: task.id, error.message)
        }
        var modules: [String: ModuleManifest] = [:]
        for node in nodes {
            guard let module = catalog.module(node.module) else {
                throw CatalogError(.unknownModule, entry: task.id, "node '\(node.id)' invokes unknown module '\(node.module)'")
            }
            modules[node.module] = module
        }
        self.modules = modules
    }

    /// The manifest of the module `node` invokes.
    public func module(of node: TaskNode) -> ModuleManifest { modules[node.module]! }

    /// The node with this id, if any.
    public func node(_ id: String) -> TaskNode? { nodes.first { $0.id == id } }

    /// Nodes not yet started whose arguments are all among `available` (task inputs and finished nodes).
    public func readyNodes(available: Set<String>, started: Set<String>) -> [TaskNode] {
        nodes.filter { !started.contains($0.id) && $0.inputs.allSatisfy(available.contains) }
    }

    /// The task inputs of a request bundle (from ``TaskRequest/bundle()``), one value per declared
    /// input; an input the request omits takes the task's catalog default, if it has one.
    public func inputValues(_ request: TensorBundle) throws(TaskBindingError) -> [String: TensorBundle] {
        var values: [String: TensorBundle] = [:]
        for input in task.graph.inputs {
            var value = TensorBundle()
            if let tensor = request[input.id] {
                Self.copy(tensor, contentType: request.contentType(of: input.id), as: input.id, into: &value)
            } else if let fallback = task.defaults[input.id] {
                do {
                    switch fallback {
                    case .text(let text): try value.setText(text, named: input.id)
                    case .texts(let texts): try value.setTexts(texts, named: input.id)
                    case .media(let contentType, let bytes): try value.setMedia(bytes, contentType: contentType, named: input.id)
                    case .tensor(let tensor): try value.set(tensor, named: input.id)
                    }
                } catch {
                    throw TaskBindingError(.missingInput, field: input.id, "the default of '\(input.id)' cannot be used: \(error.message)")
                }
            } else {
                let present = request.names.isEmpty ? "none" : request.names.joined(separator: ", ")
                throw TaskBindingError(
                    .missingInput, field: input.id,
                    "task '\(task.id)' needs input '\(input.id)' (inputs: \(task.graph.inputs.map(\.id).joined(separator: ", ")); present: \(present))")
            }
            values[input.id] = value
        }
        return values
    }

    /// The invocation bundle of `node` (no metadata but content-type markers).
    public func arguments(of node: TaskNode, values: [String: TensorBundle]) throws(TaskBindingError) -> TensorBundle {
        try Self.arguments(
            node: node.id, module: node.module, sources: argumentSources(of: node), parameters: module(of: node).callInputs.map(\.name),
            values: values)
    }

    /// The tensors `node`'s arguments are made of, in order: each value it names, that value's
    /// tensors in its module's output order (a task input's one tensor is named after the input).
    public func argumentSources(of node: TaskNode) -> [(value: String, tensor: String)] {
        node.inputs.flatMap { source in
            let names = self.node(source).map { module(of: $0).callOutputs.map(\.name) } ?? [source]
            return names.map { (value: source, tensor: $0) }
        }
    }

    /// An invocation bundle: the `sources` tensors of `values`, renamed by position to
    /// `parameters` (the invoked module's call inputs), content types kept. The device builds a
    /// chained node's arguments with it too.
    public static func arguments(
        node: String, module: String, sources: [(value: String, tensor: String)], parameters: [String], values: [String: TensorBundle]
    ) throws(TaskBindingError) -> TensorBundle {
        guard sources.count == parameters.count else {
            throw TaskBindingError(
                .arity, field: node, "node '\(node)' has \(sources.count) arguments for \(parameters.count) inputs of '\(module)'")
        }
        var bundle = TensorBundle()
        for (source, parameter) in zip(sources, parameters) {
            guard let value = values[source.value] else {
                throw TaskBindingError(.missingValue, field: source.value, "node '\(node)' needs '\(source.value)', which has no value yet")
            }
            guard let tensor = value[source.tensor] else {
                throw TaskBindingError(
                    .missingValue, field: "\(source.value).\(source.tensor)", "'\(source.value)' answered without its output '\(source.tensor)'")
            }
            copy(tensor, contentType: value.contentType(of: source.tensor), as: parameter, into: &bundle)
        }
        return bundle
    }

    /// The result outputs, keyed by output node id: a node answering `labels` (strings) and `scores`
    /// gives `labels` (best first, as the module ordered them, first row); one string tensor gives
    /// `text` (one element) or `texts`; one number tensor gives `embedding`. Other outputs of a node
    /// are keyed `node.output`.
    public func result(values: [String: TensorBundle]) throws(TaskBindingError) -> [String: TaskOutput] {
        var outputs: [String: TaskOutput] = [:]
        for id in task.outputNodes {
            guard let node = node(id), let value = values[id] else {
                throw TaskBindingError(.missingValue, field: id, "output node '\(id)' has no value")
            }
            let declared = module(of: node).callOutputs
            do throws(TensorBundleError) {
                if declared.contains(where: { $0.name == "labels" && $0.dtype == "string" }),
                   declared.contains(where: { $0.name == "scores" }) {
                    let labels = try TaskValueText.strings(value, "labels")
                    let scores = try value.tensor("scores").floats()
                    outputs[id] = .labels(zip(labels, scores).map { TaskOutput.ScoredLabel(label: $0, score: Double($1)) })
                    continue
                }
                for declaration in declared {
                    let key = declared.count == 1 ? id : "\(id).\(declaration.name)"
                    if declaration.dtype == "string" {
                        let strings = try TaskValueText.strings(value, declaration.name)
                        outputs[key] = strings.count == 1 && value.contentType(of: declaration.name) == TensorBundle.textContentType
                            ? .text(strings[0]) : .texts(strings)
                    } else {
                        outputs[key] = .embedding(try TaskValueText.numbers(value.tensor(declaration.name)))
                    }
                }
            } catch {
                throw TaskBindingError(.badOutput, field: id, "output of node '\(id)' cannot be read: \(error.message)")
            }
        }
        return outputs
    }

    private static func copy(_ tensor: BundleTensor, contentType: String?, as name: String, into bundle: inout TensorBundle) {
        // Names come from a validated catalog, so setting cannot fail.
        try? bundle.set(tensor, named: name)
        bundle.metadata[TensorBundle.contentTypeKeyPrefix + name] = contentType
    }
}

/// A request or a module answer does not fit a task's bindings.
public struct TaskBindingError: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Code: String, Sendable, Hashable {
        /// A declared task input is absent from the request.
        case missingInput
        /// A node's argument has not been computed (or a module answered without a declared output).
        case missingValue
        /// A node's arguments do not match its module's inputs in number.
        case arity
        /// An output node's value cannot be turned into a result.
        case badOutput
    }

    public let code: Code
    /// The input, node or tensor concerned.
    public let field: String
    public let message: String

    public init(_ code: Code, field: String, _ message: String) {
        self.code = code
        self.field = field
        self.message = message
    }

    public var description: String { message }
}

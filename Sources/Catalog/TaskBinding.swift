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
        let parameters = module(of: node).callInputs
        var arguments: [(BundleTensor, String?)] = []
        for source in node.inputs {
            guard let value = values[source] else {
                throw TaskBindingError(.missingValue, field: source, "node '\(node.id)' needs '\(source)', which has no value yet")
            }
            for name in outputNames(of: source, in: value) {
                guard let tensor = value[name] else {
                    throw TaskBindingError(
                        .missingValue, field: "\(source).\(name)", "'\(source)' answered without its output '\(name)'")
                }
                arguments.append((tensor, value.contentType(of: name)))
            }
        }
        guard arguments.count == parameters.count else {
            throw TaskBindingError(
                .arity, field: node.id,
                "node '\(node.id)' has \(arguments.count) arguments for \(parameters.count) inputs of '\(node.module)'")
        }
        var bundle = TensorBundle()
        for ((tensor, contentType), parameter) in zip(arguments, parameters) {
            Self.copy(tensor, contentType: contentType, as: parameter.name, into: &bundle)
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

    private func outputNames(of source: String, in value: TensorBundle) -> [String] {
        if let producer = node(source) { return module(of: producer).callOutputs.map(\.name) }
        return [source]
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

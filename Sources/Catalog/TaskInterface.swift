import S2M3Core

/// What a task takes and answers, read from the catalog itself (`s2m3 catalog --tasks`, the table in
/// topics.md): each input with the form it is sent in and whether a request may omit it, each output
/// with the kind of result entry it becomes (``TaskBinding/result(values:)``).
public struct TaskInterface: Sendable, Hashable, Codable {
    public struct Input: Sendable, Hashable, Codable {
        public var name: String
        /// `media`, `text` (one string or a list) or `tensor`.
        public var form: String
        /// Media: the accepted content types; text: `string`; tensor: its dtype.
        public var type: String
        /// Tensors: the module's declared shape; nil otherwise.
        public var shape: [String]?
        public var required: Bool
        public var defaultValue: TaskInput?
    }

    public struct Output: Sendable, Hashable, Codable {
        /// The key in the result's `outputs`.
        public var name: String
        /// `labels`, `text`, `texts` or `embedding`.
        public var kind: String
    }

    public var task: String
    public var description: String
    public var inputs: [Input]
    public var outputs: [Output]

    public init(_ task: ModuleCatalog.Task, in catalog: ModuleCatalog) {
        self.task = task.id
        description = task.description
        inputs = task.graph.inputs.map { input in
            let declaration = Self.declaration(of: input.id, in: task, catalog: catalog)
            let fallback = task.defaults[input.id]
            var form = "tensor", type = declaration?.dtype ?? "?", shape = declaration.map { $0.shape.map(\.description) }
            if let declaration, declaration.dtype == "string" {
                (form, type, shape) = ("text", "string", nil)
            } else if let media = declaration.flatMap({ _ in Self.media(of: input.id, in: task, catalog: catalog) }), !media.isEmpty {
                (form, type, shape) = ("media", media.joined(separator: ", "), nil)
            }
            return Input(name: input.id, form: form, type: type, shape: shape, required: fallback == nil, defaultValue: fallback)
        }
        outputs = task.outputNodes.flatMap { id -> [Output] in
            guard let node = task.graph.nodes.first(where: { $0.id == id }), let module = catalog.module(node.module) else { return [] }
            let declared = module.callOutputs
            if declared.contains(where: { $0.name == "labels" && $0.dtype == "string" }), declared.contains(where: { $0.name == "scores" }) {
                return [Output(name: id, kind: "labels")]
            }
            return declared.map { tensor in
                let kind = tensor.dtype != "string" ? "embedding" : (tensor.shape == [.fixed(1)] || tensor.shape.isEmpty ? "text" : "texts")
                return Output(name: declared.count == 1 ? id : "\(id).\(tensor.name)", kind: kind)
            }
        }
    }

    /// Every task of the catalog, in its order.
    public static func all(in catalog: ModuleCatalog) -> [TaskInterface] { catalog.tasks.map { TaskInterface($0, in: catalog) } }

    /// The markdown table of topics.md ("Task interfaces").
    public static func markdownTable(_ interfaces: [TaskInterface]) -> String {
        var lines = ["| task | inputs | outputs (result `outputs`) |", "|---|---|---|"]
        for interface in interfaces {
            let inputs = interface.inputs.map(\.text).joined(separator: "<br>")
            let outputs = interface.outputs.map { "`\($0.name)`: \($0.kind)" }.joined(separator: "<br>")
            lines.append("| `\(interface.task)` | \(inputs) | \(outputs) |")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// Each task input that binds to a module input of a number or byte dtype (what a tensor may
    /// fill; media inputs are `uint8` too), by name.
    public static func tensorDeclarations(of task: ModuleCatalog.Task, in catalog: ModuleCatalog) -> [String: TensorDeclaration] {
        var out: [String: TensorDeclaration] = [:]
        for input in task.graph.inputs {
            if let declaration = declaration(of: input.id, in: task, catalog: catalog), declaration.dtype != "string" {
                out[input.id] = declaration
            }
        }
        return out
    }

    /// The declaration of the module input a task input is first bound to.
    static func declaration(of input: String, in task: ModuleCatalog.Task, catalog: ModuleCatalog) -> TensorDeclaration? {
        firstUse(of: input, in: task, catalog: catalog).map { $0.module.callInputs[$0.position] }
    }

    static func media(of input: String, in task: ModuleCatalog.Task, catalog: ModuleCatalog) -> [String]? {
        guard let use = firstUse(of: input, in: task, catalog: catalog), use.module.kind == .builtin else { return nil }
        return BuiltinDefinitions.named(use.module.operation ?? use.module.id)?.media
    }

    private static func firstUse(of input: String, in task: ModuleCatalog.Task, catalog: ModuleCatalog) -> (module: ModuleManifest, position: Int)? {
        for node in task.graph.nodes {
            guard let module = catalog.module(node.module) else { continue }
            var position = 0
            for argument in node.inputs {
                if argument == input { return position < module.callInputs.count ? (module, position) : nil }
                position += task.graph.nodes.first { $0.id == argument }.flatMap { catalog.module($0.module)?.callOutputs.count } ?? 1
            }
        }
        return nil
    }
}

extension TaskInterface.Input {
    /// E.g. "`image`: media (image/jpeg, image/png)", "`commands`: text, optional (default: 5 texts)".
    public var text: String {
        var out = "`\(name)`: "
        switch form {
        case "media": out += "media (\(type))"
        case "text": out += "text (one or a list)"
        default: out += "tensor \(type) [\((shape ?? []).joined(separator: ","))]"
        }
        switch defaultValue {
        case nil: break
        case .texts(let texts)?: out += ", optional (default: \(texts.count) texts)"
        case .text?: out += ", optional (default: a text)"
        case _?: out += ", optional"
        }
        return out
    }
}

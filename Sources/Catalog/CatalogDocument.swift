import S2M3Core

/// The JSON form of a catalog file (`catalog/default.json`; format in docs/catalog.md).
public struct CatalogDocument: Sendable, Hashable, Codable {
    public var modules: [ModuleEntry]
    public var tasks: [TaskEntry]

    public init(modules: [ModuleEntry], tasks: [TaskEntry]) {
        self.modules = modules
        self.tasks = tasks
    }
}

/// One module declaration: an ONNX file, or an operation built into S2M3.
public struct ModuleEntry: Sendable, Hashable, Codable {
    public enum Kind: String, Sendable, Hashable, Codable {
        case onnx
        case builtin
    }

    public var id: String
    public var kind: Kind
    /// ONNX modules: the weights file, relative to the models folder.
    public var file: String?
    /// Optional expected sha256 (hex) of `file`; checked at load when present.
    public var sha256: String?
    /// Built-in modules: the operation's name (defaults to `id`).
    public var operation: String?
    /// Built-in modules: data files they read (relative to the models folder), part of the digest.
    public var assets: [String]?
    public var inputs: [TensorDeclaration]
    public var outputs: [TensorDeclaration]
    /// `onnx` modules: how the model is run (default `single-run`: one run, the interface as declared).
    /// Other drivers (`whisper-greedy`, `vad-stream`, `ocr-recognise`) loop or pre-process around the
    /// model and are invoked with the interface in `call`.
    public var driver: String?
    /// The invocation interface when it differs from the model's own (`inputs`/`outputs`), e.g. a
    /// greedy decoder is called with features and answers token ids. Task nodes bind to this.
    public var call: CallInterface?
    public var description: String?

    public init(
        id: String, kind: Kind, file: String? = nil, sha256: String? = nil, operation: String? = nil,
        assets: [String]? = nil, inputs: [TensorDeclaration], outputs: [TensorDeclaration],
        driver: String? = nil, call: CallInterface? = nil, description: String? = nil
    ) {
        self.driver = driver
        self.call = call
        self.id = id
        self.kind = kind
        self.file = file
        self.sha256 = sha256
        self.operation = operation
        self.assets = assets
        self.inputs = inputs
        self.outputs = outputs
        self.description = description
    }
}

/// The tensors a module is invoked with and answers, when they differ from the model file's own.
public struct CallInterface: Sendable, Hashable, Codable {
    public var inputs: [TensorDeclaration]
    public var outputs: [TensorDeclaration]

    public init(inputs: [TensorDeclaration], outputs: [TensorDeclaration]) {
        self.inputs = inputs
        self.outputs = outputs
    }
}

/// A named tensor of a module's interface.
public struct TensorDeclaration: Sendable, Hashable, Codable {
    public var name: String
    /// float32, float16, int64, int32, uint8, bool or string.
    public var dtype: String
    public var shape: [Dimension]

    public init(name: String, dtype: String, shape: [Dimension]) {
        self.name = name
        self.dtype = dtype
        self.shape = shape
    }

    public static let knownTypes: Set<String> = ["float32", "float16", "int64", "int32", "uint8", "bool", "string"]
}

/// A dimension: a fixed size, or a symbol (e.g. "N") for a size known only at run time.
public enum Dimension: Sendable, Hashable, Codable, CustomStringConvertible {
    case fixed(Int)
    case symbol(String)

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let size = try? container.decode(Int.self) {
            self = .fixed(size)
        } else {
            self = .symbol(try container.decode(String.self))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .fixed(let size): try container.encode(size)
        case .symbol(let name): try container.encode(name)
        }
    }

    public var description: String {
        switch self {
        case .fixed(let size): String(size)
        case .symbol(let name): name
        }
    }
}

/// A task: its inputs (data arriving with a request) and its module invocations.
public struct TaskEntry: Sendable, Hashable, Codable {
    public struct Node: Sendable, Hashable, Codable {
        public var id: String
        public var module: String
        /// Task input names or node ids, in the module's argument order.
        public var inputs: [String]

        public init(id: String, module: String, inputs: [String]) {
            self.id = id
            self.module = module
            self.inputs = inputs
        }
    }

    public var id: String
    public var description: String?
    public var inputs: [String]
    public var nodes: [Node]
    /// The nodes whose outputs make the result, in order (default: the nodes no other node reads).
    public var outputs: [String]?
    /// Values of inputs a request may omit (e.g. voice-command's `commands`): a string is a text, an
    /// array of strings a list (the forms of a JSON request's inputs, ``TaskInput``).
    public var defaults: [String: TaskInput]?

    public init(
        id: String, description: String? = nil, inputs: [String], nodes: [Node], outputs: [String]? = nil,
        defaults: [String: TaskInput]? = nil
    ) {
        self.outputs = outputs
        self.defaults = defaults
        self.id = id
        self.description = description
        self.inputs = inputs
        self.nodes = nodes
    }
}

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
    /// ONNX modules: the external data files the model's initializers are stored in (relative to the
    /// model's folder, as the model names them), each with an optional expected sha256. Found in the
    /// model when not declared; when declared, the two lists must agree.
    public var externalData: [ExternalDataFile]?
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
    /// Built-in modules: the operation's settings (e.g. `image-preprocess`'s size and normalisation),
    /// checked by the built-in at load and part of the digest (docs/catalog.md).
    public var settings: [String: JSONValue]?

    public init(
        id: String, kind: Kind, file: String? = nil, sha256: String? = nil, operation: String? = nil,
        assets: [String]? = nil, inputs: [TensorDeclaration], outputs: [TensorDeclaration],
        driver: String? = nil, call: CallInterface? = nil, description: String? = nil, settings: [String: JSONValue]? = nil,
        externalData: [ExternalDataFile]? = nil
    ) {
        self.settings = settings
        self.externalData = externalData
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

extension ModuleEntry {
    enum CodingKeys: String, CodingKey, CaseIterable {
        case id, kind, file, sha256, externalData, operation, assets, inputs, outputs, driver, call, description, settings
    }

    private struct AnyKey: CodingKey {
        let stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    /// Decodes an entry, rejecting keys the format does not have (a misspelt or invented key would
    /// otherwise be ignored, and not be part of the digest).
    public init(from decoder: any Decoder) throws {
        let known = Set(CodingKeys.allCases.map(\.rawValue))
        for key in try decoder.container(keyedBy: AnyKey.self).allKeys where !known.contains(key.stringValue) {
            throw DecodingError.dataCorrupted(DecodingError.Context(
                codingPath: decoder.codingPath + [key],
                debugDescription: "unknown module key \"\(key.stringValue)\"; a module has \(CodingKeys.allCases.map(\.rawValue).joined(separator: ", "))"))
        }
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            id: try container.decode(String.self, forKey: .id), kind: try container.decode(Kind.self, forKey: .kind),
            file: try container.decodeIfPresent(String.self, forKey: .file),
            sha256: try container.decodeIfPresent(String.self, forKey: .sha256),
            operation: try container.decodeIfPresent(String.self, forKey: .operation),
            assets: try container.decodeIfPresent([String].self, forKey: .assets),
            inputs: try container.decode([TensorDeclaration].self, forKey: .inputs),
            outputs: try container.decode([TensorDeclaration].self, forKey: .outputs),
            driver: try container.decodeIfPresent(String.self, forKey: .driver),
            call: try container.decodeIfPresent(CallInterface.self, forKey: .call),
            description: try container.decodeIfPresent(String.self, forKey: .description),
            settings: try container.decodeIfPresent([String: JSONValue].self, forKey: .settings),
            externalData: try container.decodeIfPresent([ExternalDataFile].self, forKey: .externalData))
    }
}

/// An external data file of an ONNX model: its name relative to the model's folder and, optionally,
/// the sha256 it must have.
public struct ExternalDataFile: Sendable, Hashable, Codable {
    public var file: String
    public var sha256: String?

    public init(file: String, sha256: String? = nil) {
        self.file = file
        self.sha256 = sha256
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

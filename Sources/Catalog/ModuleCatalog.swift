import Foundation
import S2M3Core

/// A loaded, validated catalog: module manifests (with digests), tasks as ``TaskGraph``s, and which
/// module entries are one shared module.
public struct ModuleCatalog: Sendable {
    /// A task of the catalog.
    public struct Task: Sendable, Hashable {
        public let id: String
        public let description: String
        public let graph: TaskGraph
        /// The nodes whose outputs make the result, in order (the catalog's `outputs`, else the sinks).
        public let outputNodes: [String]
        /// Values used for inputs a request omits (the catalog's `defaults`).
        public let defaults: [String: TaskInput]

        public init(id: String, description: String, graph: TaskGraph, outputNodes: [String], defaults: [String: TaskInput] = [:]) {
            self.id = id
            self.description = description
            self.graph = graph
            self.outputNodes = outputNodes
            self.defaults = defaults
        }
    }

    /// Modules in declaration order.
    public let modules: [ModuleManifest]
    public let tasks: [Task]
    /// Module id → id of the first declared module with the same digest (itself when unique).
    public let sharedID: [String: String]

    public func module(_ id: String) -> ModuleManifest? { modules.first { $0.id == id } }

    /// Reads and validates a catalog file. `modelsDirectory` is where module files are looked up.
    public static func load(path: String, modelsDirectory: String) throws(CatalogError) -> ModuleCatalog {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw CatalogError(.invalidFormat, entry: "", "cannot read the catalog file \(path): check the path")
        }
        let document: CatalogDocument
        do {
            document = try JSONDecoder().decode(CatalogDocument.self, from: data)
        } catch {
            throw CatalogError(.invalidFormat, entry: "", "\(path) is not a valid catalog (see docs/catalog.md): \(error)")
        }
        return try ModuleCatalog(document: document, modelsDirectory: modelsDirectory)
    }

    /// Validates a decoded catalog. `fileSHA256` hashes a file (nil when unreadable); tests may inject one.
    public init(
        document: CatalogDocument, modelsDirectory: String,
        fileSHA256: (String) -> String? = { FileDigest.sha256(ofFileAt: $0) }
    ) throws(CatalogError) {
        var manifests: [ModuleManifest] = []
        var seen: Set<String> = []
        for entry in document.modules {
            if entry.id.isEmpty { throw CatalogError(.invalidModule, entry: "", "a module has an empty id") }
            if !seen.insert(entry.id).inserted {
                throw CatalogError(.duplicateModule, entry: entry.id, "module id declared twice; ids must be unique")
            }
            manifests.append(try Self.manifest(entry, modelsDirectory: modelsDirectory, fileSHA256: fileSHA256))
        }
        var firstByDigest: [String: String] = [:]
        var shared: [String: String] = [:]
        for manifest in manifests {
            shared[manifest.id] = firstByDigest[manifest.digest] ?? manifest.id
            if firstByDigest[manifest.digest] == nil { firstByDigest[manifest.digest] = manifest.id }
        }
        var taskIDs: Set<String> = []
        var tasks: [Task] = []
        for entry in document.tasks {
            if !taskIDs.insert(entry.id).inserted {
                throw CatalogError(.duplicateTask, entry: entry.id, "task id declared twice; ids must be unique")
            }
            for node in entry.nodes where !seen.contains(node.module) {
                throw CatalogError(
                    .unknownModule, entry: entry.id,
                    "node '\(node.id)' invokes module '\(node.module)', which the catalog does not declare")
            }
            let graph = TaskGraph(
                inputs: entry.inputs.map { TaskGraph.Input(id: $0) },
                nodes: entry.nodes.map { TaskNode(id: $0.id, module: $0.module, inputs: $0.inputs) })
            let sinks: [Int]
            do {
                try graph.validate()
                sinks = try graph.sinkIndices()
            } catch {
                throw CatalogError(error.code == .cycle ? .cycle : .invalidTask, entry: entry.id, error.message)
            }
            try Self.checkArity(entry, modules: manifests)
            let outputNodes = entry.outputs ?? sinks.map { graph.nodes[$0].id }
            for output in outputNodes where !entry.nodes.contains(where: { $0.id == output }) {
                throw CatalogError(.invalidTask, entry: entry.id, "output '\(output)' is not a node of the task")
            }
            for name in (entry.defaults ?? [:]).keys.sorted() where !entry.inputs.contains(name) {
                throw CatalogError(.invalidTask, entry: entry.id, "default '\(name)' is not one of the task's inputs \(entry.inputs)")
            }
            tasks.append(Task(
                id: entry.id, description: entry.description ?? "", graph: graph, outputNodes: outputNodes,
                defaults: entry.defaults ?? [:]))
        }
        modules = manifests
        self.tasks = tasks
        sharedID = shared
    }

    /// A node's arguments (each task input one tensor, each node its module's call outputs, in
    /// order) must be as many as its module's call inputs: they bind by position.
    private static func checkArity(_ task: TaskEntry, modules: [ModuleManifest]) throws(CatalogError) {
        let byID = Dictionary(modules.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        let nodes = Dictionary(task.nodes.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        for node in task.nodes {
            guard let module = byID[node.module] else { continue }
            let count = node.inputs.reduce(0) { sum, name in
                sum + (nodes[name].flatMap { byID[$0.module]?.callOutputs.count } ?? 1)
            }
            if count != module.callInputs.count {
                let expected = module.callInputs.map(\.name).joined(separator: ", ")
                throw CatalogError(
                    .invalidTask, entry: task.id,
                    "node '\(node.id)' passes \(count) tensors from \(node.inputs) but module '\(module.id)' takes \(module.callInputs.count) (\(expected)); arguments bind by position")
            }
        }
    }

    private static func manifest(
        _ entry: ModuleEntry, modelsDirectory: String, fileSHA256: (String) -> String?
    ) throws(CatalogError) -> ModuleManifest {
        if entry.outputs.isEmpty {
            throw CatalogError(.invalidModule, entry: entry.id, "the module declares no outputs")
        }
        for tensor in entry.inputs + entry.outputs where !TensorDeclaration.knownTypes.contains(tensor.dtype) {
            throw CatalogError(
                .invalidModule, entry: entry.id,
                "tensor '\(tensor.name)' has dtype '\(tensor.dtype)'; use one of \(TensorDeclaration.knownTypes.sorted().joined(separator: ", "))")
        }
        for tensor in (entry.call?.inputs ?? []) + (entry.call?.outputs ?? [])
        where !TensorDeclaration.knownTypes.contains(tensor.dtype) {
            throw CatalogError(.invalidModule, entry: entry.id, "call tensor '\(tensor.name)' has unknown dtype '\(tensor.dtype)'")
        }
        if entry.kind == .builtin, entry.driver != nil || entry.call != nil {
            throw CatalogError(
                .invalidModule, entry: entry.id, "\"driver\" and \"call\" are for onnx modules; a built-in's inputs are its call")
        }
        if entry.kind == .onnx, entry.settings != nil {
            throw CatalogError(.invalidModule, entry: entry.id, "\"settings\" are for built-in modules; an onnx module is configured by its file")
        }
        switch entry.kind {
        case .onnx:
            guard let file = entry.file, !file.isEmpty else {
                throw CatalogError(.invalidModule, entry: entry.id, "an onnx module needs \"file\" (relative to the models folder)")
            }
            let path = resolve(file, in: modelsDirectory)
            let digest = try contentDigest(of: path, entry: entry.id, expected: entry.sha256, fileSHA256: fileSHA256)
            let data = try externalData(of: entry, modelPath: path, fileSHA256: fileSHA256)
            return ModuleManifest(
                entry: entry, filePath: path, contentSHA256: ModuleManifest.contentSHA256(model: digest, data: data),
                externalDataFiles: data.map(\.name))
        case .builtin:
            let operation = entry.operation ?? entry.id
            guard let definition = BuiltinDefinitions.named(operation) else {
                throw CatalogError(
                    .invalidModule, entry: entry.id,
                    "no built-in operation '\(operation)'; the built-ins are \(BuiltinDefinitions.all.map(\.name).joined(separator: ", ")) (docs/catalog.md)")
            }
            try definition.check(BuiltinSettings(entry.settings ?? [:], module: entry.id), entry)
            var content = "builtin:" + (entry.operation ?? entry.id)
            var paths: [String] = []
            for asset in entry.assets ?? [] {
                let path = resolve(asset, in: modelsDirectory)
                paths.append(path)
                content += "\n" + (try contentDigest(of: path, entry: entry.id, expected: nil, fileSHA256: fileSHA256))
            }
            return ModuleManifest(entry: entry, filePath: nil, contentSHA256: SHA256.hex(of: content), assetPaths: paths)
        }
    }

    /// The model's external data files with their sha256s, sorted by name: those the model names,
    /// which must be those the entry declares when it declares them (each checked against its
    /// declared sha256).
    private static func externalData(
        of entry: ModuleEntry, modelPath: String, fileSHA256: (String) -> String?
    ) throws(CatalogError) -> [(name: String, sha256: String)] {
        let named = ONNXExternalData.locations(inModelAt: modelPath) ?? []
        let declared = entry.externalData ?? []
        if entry.externalData != nil, Set(declared.map(\.file)) != Set(named) || declared.count != named.count {
            throw CatalogError(
                .invalidModule, entry: entry.id,
                "\"externalData\" declares \(declared.map(\.file).sorted()) but the model's initializers are stored in \(named): declare exactly the files the model names")
        }
        let folder = (modelPath as NSString).deletingLastPathComponent
        var out: [(name: String, sha256: String)] = []
        for name in named {
            guard !name.hasPrefix("/"), !name.split(separator: "/").contains("..") else {
                throw CatalogError(.invalidModule, entry: entry.id, "external data location '\(name)' leaves the model's folder")
            }
            let expected = declared.first { $0.file == name }?.sha256
            let path = (folder as NSString).appendingPathComponent(name)
            out.append((name, try contentDigest(of: path, entry: entry.id, expected: expected, fileSHA256: fileSHA256)))
        }
        return out
    }

    private static func resolve(_ file: String, in directory: String) -> String {
        file.hasPrefix("/") ? file : (directory as NSString).appendingPathComponent(file)
    }

    private static func contentDigest(
        of path: String, entry: String, expected: String?, fileSHA256: (String) -> String?
    ) throws(CatalogError) -> String {
        guard let digest = fileSHA256(path) else {
            throw CatalogError(
                .missingFile, entry: entry, "file \(path) is missing or unreadable: run scripts/setup.sh or check --models")
        }
        if let expected, expected.lowercased() != digest {
            throw CatalogError(
                .digestMismatch, entry: entry,
                "\(path) has sha256 \(digest) but the catalog expects \(expected.lowercased()): re-run scripts/setup.sh or fix \"sha256\"")
        }
        return digest
    }
}

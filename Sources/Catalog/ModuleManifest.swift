import Foundation

/// What the catalog knows about a module after loading: its interface and digest.
///
/// `digest` = sha256 of (the weights file's sha256 — with external data files, of it and theirs — or the built-in operation's name and its assets'
/// sha256s) followed by the canonical interface and, for a built-in with settings, their canonical JSON. Two entries with equal digests are the same module:
/// same weights, same inputs and outputs.
public struct ModuleManifest: Sendable, Hashable {
    public let id: String
    public let kind: ModuleEntry.Kind
    /// Absolute path of the ONNX file (nil for built-ins).
    public let filePath: String?
    /// sha256 of the weights file (and its external data, ``contentSHA256(model:data:)``), or of the
    /// built-in operation and assets.
    public let contentSHA256: String
    /// ONNX modules: the model's external data files, relative to its folder, sorted.
    public let externalDataFiles: [String]

    /// Absolute paths of ``externalDataFiles``.
    public var externalDataPaths: [String] {
        guard let filePath else { return [] }
        let folder = (filePath as NSString).deletingLastPathComponent
        return externalDataFiles.map { (folder as NSString).appendingPathComponent($0) }
    }
    /// Canonical interface text, e.g. `in image float32 [N,3,224,224]; out embedding float32 [N,1280]`.
    public let interface: String
    public let digest: String
    /// The model's own inputs and outputs (built-ins: the operation's).
    public let inputs: [TensorDeclaration]
    public let outputs: [TensorDeclaration]
    /// How an `onnx` module is run (`single-run` unless the catalog names another driver; nil for built-ins).
    public let driver: String?
    /// What an invocation carries: the catalog's `call` interface, else `inputs`. Task nodes bind
    /// their arguments to these by position.
    public let callInputs: [TensorDeclaration]
    /// What an invocation answers: the catalog's `call` outputs, else `outputs`.
    public let callOutputs: [TensorDeclaration]

    /// Built-ins: the operation's name (the catalog's `operation`, else the id); nil for onnx modules.
    public let operation: String?
    /// Built-ins: absolute paths of the asset files, in the catalog's order.
    public let assetPaths: [String]
    /// Built-ins: the catalog's settings, validated at load (empty when none).
    public let settings: BuiltinSettings

    /// The default driver of `onnx` modules: one run with the declared interface.
    public static let singleRunDriver = "single-run"

    init(entry: ModuleEntry, filePath: String?, contentSHA256: String, assetPaths: [String] = [], externalDataFiles: [String] = []) {
        self.externalDataFiles = externalDataFiles
        id = entry.id
        operation = entry.kind == .builtin ? (entry.operation ?? entry.id) : nil
        self.assetPaths = assetPaths
        settings = BuiltinSettings(entry.settings ?? [:], module: entry.id)
        kind = entry.kind
        self.filePath = filePath
        self.contentSHA256 = contentSHA256
        inputs = entry.inputs
        outputs = entry.outputs
        driver = entry.kind == .onnx ? (entry.driver ?? Self.singleRunDriver) : nil
        callInputs = entry.call?.inputs ?? entry.inputs
        callOutputs = entry.call?.outputs ?? entry.outputs
        var interface = Self.canonicalInterface(inputs: entry.inputs, outputs: entry.outputs)
        if let call = entry.call, let driver {
            // A different way of running the same weights is a different module.
            interface += "; driver \(driver); call " + Self.canonicalInterface(inputs: call.inputs, outputs: call.outputs)
        }
        self.interface = interface
        // Without settings the digest is what it was before settings existed.
        let configured = settings.canonical.isEmpty ? "" : "\nsettings " + settings.canonical
        digest = SHA256.hex(of: contentSHA256 + "\n" + interface + configured)
    }

    /// The content digest of an ONNX module: the model file's sha256 alone, or with external data
    /// files, sha256 of it followed by each file's name (as the model names it) and sha256.
    public static func contentSHA256(model: String, data: [(name: String, sha256: String)]) -> String {
        data.isEmpty ? model : SHA256.hex(of: model + data.map { "\n\($0.name) \($0.sha256)" }.joined())
    }

    /// This module's content digest as its files are now (nil when one cannot be read): what a loader
    /// compares with ``contentSHA256`` before it uses the files.
    public func currentContentSHA256() -> String? {
        guard let filePath, let model = FileDigest.sha256(ofFileAt: filePath) else { return nil }
        var data: [(name: String, sha256: String)] = []
        for (name, path) in zip(externalDataFiles, externalDataPaths) {
            guard let digest = FileDigest.sha256(ofFileAt: path) else { return nil }
            data.append((name, digest))
        }
        return Self.contentSHA256(model: model, data: data)
    }

    /// Inputs then outputs, in declaration order (order is part of the interface: arguments bind by
    /// position).
    public static func canonicalInterface(inputs: [TensorDeclaration], outputs: [TensorDeclaration]) -> String {
        func text(_ direction: String, _ tensor: TensorDeclaration) -> String {
            "\(direction) \(tensor.name) \(tensor.dtype) [\(tensor.shape.map(\.description).joined(separator: ","))]"
        }
        return (inputs.map { text("in", $0) } + outputs.map { text("out", $0) }).joined(separator: "; ")
    }
}

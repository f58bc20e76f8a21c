/// What the catalog knows about a module after loading: its interface and digest.
///
/// `digest` = sha256 of (the weights file's sha256, or the built-in operation's name and its assets'
/// sha256s) followed by the canonical interface. Two entries with equal digests are the same module:
/// same weights, same inputs and outputs.
public struct ModuleManifest: Sendable, Hashable {
    public let id: String
    public let kind: ModuleEntry.Kind
    /// Absolute path of the ONNX file (nil for built-ins).
    public let filePath: String?
    /// sha256 of the weights file, or of the built-in operation and assets.
    public let contentSHA256: String
    /// Canonical interface text, e.g. `in image float32 [N,3,224,224]; out embedding float32 [N,1280]`.
    public let interface: String
    public let digest: String
    public let inputs: [TensorDeclaration]
    public let outputs: [TensorDeclaration]

    init(entry: ModuleEntry, filePath: String?, contentSHA256: String) {
        id = entry.id
        kind = entry.kind
        self.filePath = filePath
        self.contentSHA256 = contentSHA256
        inputs = entry.inputs
        outputs = entry.outputs
        interface = Self.canonicalInterface(inputs: entry.inputs, outputs: entry.outputs)
        digest = SHA256.hex(of: contentSHA256 + "\n" + interface)
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

/// The data-plane payload: named tensors plus a string→string metadata map, in the safetensors
/// layout (8-byte little-endian header length, a JSON header mapping each tensor name to
/// `{dtype, shape, data_offsets}` plus `__metadata__`, then the raw little-endian bytes), so any
/// language with a safetensors reader can read and write it. `topics.md` gives the tensor names and
/// metadata keys each topic uses.
///
/// Besides numeric tensors a bundle carries opaque bytes (an encoded JPEG, a WAV file) and text as
/// `U8` tensors marked by a metadata entry `s2m3.content-type.{tensor}`: see ``setText(_:named:)``,
/// ``setTexts(_:named:)`` and ``setMedia(_:contentType:named:)``.
public struct TensorBundle: Sendable, Hashable {
    /// The MQTT 5 content type of a bundle payload.
    public static let contentType = "application/x-safetensors"
    /// Default limit on the JSON header's size when decoding (1 MiB).
    public static let defaultMaxHeaderBytes = 1 << 20
    /// Metadata key prefix marking a `U8` tensor as text or media: `s2m3.content-type.{tensor}`.
    public static let contentTypeKeyPrefix = "s2m3.content-type."
    /// Content type of a tensor holding one UTF-8 string.
    public static let textContentType = "text/plain; charset=utf-8"
    /// Content type of a tensor holding a UTF-8 JSON array of strings.
    public static let textListContentType = "application/json"

    /// The tensors by name.
    public internal(set) var tensors: [String: BundleTensor]
    /// Free-form string metadata (`__metadata__` in the header).
    public var metadata: [String: String]

    public init(metadata: [String: String] = [:]) {
        self.tensors = [:]
        self.metadata = metadata
    }

    /// A bundle with the given tensors; names must be non-empty and not `__metadata__`.
    public init(tensors: [String: BundleTensor], metadata: [String: String] = [:]) throws(TensorBundleError) {
        self.init(metadata: metadata)
        for (name, tensor) in tensors { try set(tensor, named: name) }
    }

    /// Tensor names in sorted order.
    public var names: [String] { tensors.keys.sorted() }

    public subscript(name: String) -> BundleTensor? { tensors[name] }

    /// Adds or replaces a tensor.
    public mutating func set(_ tensor: BundleTensor, named name: String) throws(TensorBundleError) {
        try Self.checkName(name)
        tensors[name] = tensor
    }

    /// Removes a tensor and its content-type marker.
    public mutating func removeTensor(named name: String) {
        tensors[name] = nil
        metadata[Self.contentTypeKeyPrefix + name] = nil
    }

    /// The tensor with this name, or a `missingTensor` error.
    public func tensor(_ name: String) throws(TensorBundleError) -> BundleTensor {
        guard let tensor = tensors[name] else {
            let present = names.isEmpty ? "none" : names.joined(separator: ", ")
            throw TensorBundleError(.missingTensor, "no tensor '\(name)' (present: \(present))")
        }
        return tensor
    }

    static func checkName(_ name: String) throws(TensorBundleError) {
        guard !name.isEmpty, name != "__metadata__" else {
            throw TensorBundleError(.invalidTensorName, "tensor name '\(name)' is empty or reserved")
        }
    }

    // MARK: Text and media

    /// The content type marked for a tensor, or nil for a plain numeric tensor.
    public func contentType(of name: String) -> String? { metadata[Self.contentTypeKeyPrefix + name] }

    /// Stores one UTF-8 string as a `U8` tensor marked `text/plain; charset=utf-8`.
    /// Stores one task input under `name` as its kind says: text, a list of texts, media bytes
    /// or a tensor (the request bundle and a stream frame's inputs are built alike).
    public mutating func set(_ input: TaskInput, named name: String) throws(TensorBundleError) {
        switch input {
        case .text(let text): try setText(text, named: name)
        case .texts(let texts): try setTexts(texts, named: name)
        case .media(let contentType, let bytes): try setMedia(bytes, contentType: contentType, named: name)
        case .tensor(let tensor): try set(tensor, named: name)
        }
    }

    public mutating func setText(_ text: String, named name: String) throws(TensorBundleError) {
        try setMedia(Array(text.utf8), contentType: Self.textContentType, named: name)
    }

    /// Stores a list of strings as a `U8` tensor holding a UTF-8 JSON array, marked `application/json`.
    public mutating func setTexts(_ texts: [String], named name: String) throws(TensorBundleError) {
        try setMedia(JSONText.encodeStringArray(texts), contentType: Self.textListContentType, named: name)
    }

    /// Stores opaque bytes (an encoded image, a WAV file) as a `U8` tensor marked with `contentType`.
    public mutating func setMedia(_ bytes: [UInt8], contentType: String, named name: String) throws(TensorBundleError) {
        try set(BundleTensor(uint8s: bytes), named: name)
        metadata[Self.contentTypeKeyPrefix + name] = contentType
    }

    /// The string stored by ``setText(_:named:)``.
    public func text(_ name: String) throws(TensorBundleError) -> String {
        let bytes = try tensor(name).uint8s()
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw TensorBundleError(.invalidText, "tensor '\(name)' is not valid UTF-8")
        }
        return text
    }

    /// The strings stored by ``setTexts(_:named:)``.
    public func texts(_ name: String) throws(TensorBundleError) -> [String] {
        let bytes = try tensor(name).uint8s()
        guard let texts = JSONText.decodeStringArray(bytes) else {
            throw TensorBundleError(.invalidText, "tensor '\(name)' is not a UTF-8 JSON array of strings")
        }
        return texts
    }

    /// The bytes and content type stored by ``setMedia(_:contentType:named:)``.
    public func media(_ name: String) throws(TensorBundleError) -> (contentType: String, bytes: [UInt8]) {
        let bytes = try tensor(name).uint8s()
        guard let type = contentType(of: name) else {
            throw TensorBundleError(.wrongDType, "tensor '\(name)' has no \(Self.contentTypeKeyPrefix)\(name) metadata")
        }
        return (type, bytes)
    }
}

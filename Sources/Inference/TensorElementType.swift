/// The element type of a tensor. ``Tensor`` holds the types marked as exchangeable; the others can
/// appear in a model's metadata (``TensorSpec``) but cannot be passed to or read from a run.
public enum TensorElementType: String, Sendable, Hashable, CaseIterable, Codable {
    case float32, int64, int32, uint8, bool
    case float16, bfloat16, float64, int8, int16, uint16, uint32, uint64, string
    /// Anything ONNX Runtime reports that this engine does not name (e.g. complex or 4-bit types).
    case other

    /// Whether ``Tensor`` can hold values of this type.
    public var isExchangeable: Bool {
        switch self {
        case .float32, .int64, .int32, .uint8, .bool: true
        default: false
        }
    }

    /// Bytes per element for the exchangeable types.
    public var byteWidth: Int? {
        switch self {
        case .float32, .int32: 4
        case .int64: 8
        case .uint8, .bool: 1
        default: nil
        }
    }
}

/// Element types a ``TensorBundle`` carries, spelled as in the safetensors header.
///
/// Values are stored little-endian. `F16` is carried as raw 2-byte words (no conversion is done
/// here); `BOOL` is one byte per element, 0 for false and anything else for true.
public enum TensorDType: String, Sendable, Hashable, CaseIterable, Codable {
    case f32 = "F32"
    case f16 = "F16"
    case i64 = "I64"
    case i32 = "I32"
    case u8 = "U8"
    case bool = "BOOL"

    /// Bytes per element.
    public var byteSize: Int {
        switch self {
        case .f32, .i32: 4
        case .f16: 2
        case .i64: 8
        case .u8, .bool: 1
        }
    }

    /// The header spellings this version understands, for error messages.
    static var supportedList: String { allCases.map(\.rawValue).joined(separator: ", ") }
}

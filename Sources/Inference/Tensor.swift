/// A dense, row-major tensor of one exchangeable element type, held in Swift arrays.
///
/// Values are checked against the shape when the tensor is made: `shape.reduce(1, *)` elements.
public struct Tensor: Sendable, Equatable {
    /// The values, typed.
    public enum Values: Sendable, Equatable {
        case float32([Float])
        case int64([Int64])
        case int32([Int32])
        case uint8([UInt8])
        case bool([Bool])

        public var elementType: TensorElementType {
            switch self {
            case .float32: .float32
            case .int64: .int64
            case .int32: .int32
            case .uint8: .uint8
            case .bool: .bool
            }
        }

        public var count: Int {
            switch self {
            case .float32(let v): v.count
            case .int64(let v): v.count
            case .int32(let v): v.count
            case .uint8(let v): v.count
            case .bool(let v): v.count
            }
        }
    }

    public let shape: [Int]
    public let values: Values

    /// Makes a tensor; throws `wrongShape` when a dimension is negative or the count does not fit.
    public init(_ values: Values, shape: [Int]) throws(InferenceError) {
        guard shape.allSatisfy({ $0 >= 0 }) else {
            throw InferenceError(.wrongShape, "shape \(shape) has a negative dimension")
        }
        let expected = shape.reduce(1, *)
        guard expected == values.count else {
            throw InferenceError(
                .wrongShape, "shape \(shape) needs \(expected) values, got \(values.count)")
        }
        self.shape = shape
        self.values = values
    }

    public init(float32 values: [Float], shape: [Int]) throws(InferenceError) {
        try self.init(.float32(values), shape: shape)
    }
    public init(int64 values: [Int64], shape: [Int]) throws(InferenceError) {
        try self.init(.int64(values), shape: shape)
    }
    public init(int32 values: [Int32], shape: [Int]) throws(InferenceError) {
        try self.init(.int32(values), shape: shape)
    }
    public init(uint8 values: [UInt8], shape: [Int]) throws(InferenceError) {
        try self.init(.uint8(values), shape: shape)
    }
    public init(bool values: [Bool], shape: [Int]) throws(InferenceError) {
        try self.init(.bool(values), shape: shape)
    }

    public var elementType: TensorElementType { values.elementType }
    public var count: Int { values.count }

    /// The values if the tensor holds float32, else `nil`.
    public var float32Values: [Float]? { if case .float32(let v) = values { v } else { nil } }
    public var int64Values: [Int64]? { if case .int64(let v) = values { v } else { nil } }
    public var int32Values: [Int32]? { if case .int32(let v) = values { v } else { nil } }
    public var uint8Values: [UInt8]? { if case .uint8(let v) = values { v } else { nil } }
    public var boolValues: [Bool]? { if case .bool(let v) = values { v } else { nil } }
}

/// Raw little-endian bytes, for wire formats (e.g. a safetensors-style bundle).
extension Tensor {
    /// The values as little-endian bytes (bool as one byte, 0 or 1).
    public var littleEndianBytes: [UInt8] {
        switch values {
        case .float32(let v): Self.isLittleEndianHost ? Self.copy(v) : Self.bytes(of: v.map(\.bitPattern))
        case .int64(let v): Self.bytes(of: v)
        case .int32(let v): Self.bytes(of: v)
        case .uint8(let v): v
        case .bool(let v): v.map { $0 ? 1 : 0 }
        }
    }

    /// Reads a tensor from little-endian bytes; throws `wrongShape` when the byte count does not fit
    /// and `unsupportedType` for element types a ``Tensor`` cannot hold.
    public init(elementType: TensorElementType, shape: [Int], littleEndianBytes bytes: [UInt8]) throws(InferenceError) {
        guard let width = elementType.byteWidth else {
            throw InferenceError(.unsupportedType, "element type \(elementType.rawValue) cannot be held in a Tensor")
        }
        guard bytes.count % width == 0 else {
            throw InferenceError(.wrongShape, "\(bytes.count) bytes is not a whole number of \(elementType.rawValue) values")
        }
        let values: Values
        switch elementType {
        case .float32: values = .float32(Self.isLittleEndianHost ? Self.copy(bytes) : Self.integers(UInt32.self, bytes).map(Float.init(bitPattern:)))
        case .int64: values = .int64(Self.integers(Int64.self, bytes))
        case .int32: values = .int32(Self.integers(Int32.self, bytes))
        case .uint8: values = .uint8(bytes)
        default: values = .bool(bytes.map { $0 != 0 })
        }
        try self.init(values, shape: shape)
    }

    /// On a little-endian host (x86_64, arm64) the values' memory is their wire form: one copy,
    /// not a loop over elements (a 224 × 224 × 3 image tensor took about 1 ms the element-wise way).
    static let isLittleEndianHost = 1.littleEndian == 1

    /// The same bytes as another element type (`bytes.count` a multiple of its width).
    private static func copy<From: BitwiseCopyable, To: BitwiseCopyable>(_ values: [From]) -> [To] {
        values.withUnsafeBytes { raw in
            let count = raw.count / MemoryLayout<To>.stride
            return [To](unsafeUninitializedCapacity: count) { buffer, initialized in
                UnsafeMutableRawBufferPointer(buffer).copyMemory(from: UnsafeRawBufferPointer(rebasing: raw[0..<(count * MemoryLayout<To>.stride)]))
                initialized = count
            }
        }
    }

    private static func bytes<T: FixedWidthInteger & BitwiseCopyable>(of values: [T]) -> [UInt8] {
        if isLittleEndianHost { return copy(values) }
        var out = [UInt8]()
        out.reserveCapacity(values.count * MemoryLayout<T>.size)
        for value in values {
            withUnsafeBytes(of: value.littleEndian) { out.append(contentsOf: $0) }
        }
        return out
    }

    private static func integers<T: FixedWidthInteger & BitwiseCopyable>(_: T.Type, _ bytes: [UInt8]) -> [T] {
        if isLittleEndianHost { return copy(bytes) }
        let width = MemoryLayout<T>.size
        return bytes.withUnsafeBytes { raw in
            (0..<(bytes.count / width)).map { i in
                T(littleEndian: raw.loadUnaligned(fromByteOffset: i * width, as: T.self))
            }
        }
    }
}

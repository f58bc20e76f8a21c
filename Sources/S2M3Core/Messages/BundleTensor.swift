/// One tensor of a ``TensorBundle``: element type, shape and raw little-endian bytes.
///
/// The bytes are an `ArraySlice` so that a decoded bundle's tensors share the payload's storage
/// instead of copying it. Typed accessors (`floats()`, `int64s()`, …) convert from little-endian
/// and check the dtype; typed initialisers check that the shape matches the value count.
public struct BundleTensor: Sendable, Hashable {
    public let dtype: TensorDType
    /// Dimensions, outermost first. `[]` is a scalar (one element).
    public let shape: [Int]
    /// The raw little-endian element bytes (`elementCount × dtype.byteSize` of them).
    public let bytes: ArraySlice<UInt8>

    /// Number of elements: the product of the shape (1 for a scalar).
    public var elementCount: Int { bytes.count / dtype.byteSize }

    /// A tensor from raw little-endian bytes; the byte count must equal shape × dtype size.
    public init(dtype: TensorDType, shape: [Int], bytes: ArraySlice<UInt8>) throws(TensorBundleError) {
        let count = try Self.elementCount(of: shape)
        let (expected, overflow) = count.multipliedReportingOverflow(by: dtype.byteSize)
        guard !overflow, expected == bytes.count else {
            throw TensorBundleError(
                .sizeMismatch,
                "shape \(shape) of \(dtype.rawValue) needs \(overflow ? "too many" : String(expected)) bytes, got \(bytes.count)")
        }
        self.dtype = dtype
        self.shape = shape
        self.bytes = bytes
    }

    public init(dtype: TensorDType, shape: [Int], bytes: [UInt8]) throws(TensorBundleError) {
        try self.init(dtype: dtype, shape: shape, bytes: bytes[...])
    }

    /// The element count of a shape, or an error for a negative dimension or an overflow.
    static func elementCount(of shape: [Int]) throws(TensorBundleError) -> Int {
        var count = 1
        for dimension in shape {
            guard dimension >= 0 else {
                throw TensorBundleError(.invalidShape, "shape \(shape) has a negative dimension")
            }
            let (product, overflow) = count.multipliedReportingOverflow(by: dimension)
            guard !overflow else { throw TensorBundleError(.invalidShape, "shape \(shape) has too many elements") }
            count = product
        }
        return count
    }

    // MARK: Typed construction

    /// `F32` values; `shape` defaults to one dimension of `values.count`.
    public init(floats values: [Float], shape: [Int]? = nil) throws(TensorBundleError) {
        let bytes = Self.isLittleEndianHost ? values.withUnsafeBytes { Array($0)[...] } : Self.littleEndianBytes(values.map(\.bitPattern))
        try self.init(dtype: .f32, shape: shape ?? [values.count], bytes: bytes)
    }

    /// `F16` values as raw IEEE 754 half-precision bit patterns.
    public init(float16Bits values: [UInt16], shape: [Int]? = nil) throws(TensorBundleError) {
        try self.init(dtype: .f16, shape: shape ?? [values.count], bytes: Self.littleEndianBytes(values))
    }

    public init(int64s values: [Int64], shape: [Int]? = nil) throws(TensorBundleError) {
        try self.init(dtype: .i64, shape: shape ?? [values.count], bytes: Self.littleEndianBytes(values))
    }

    public init(int32s values: [Int32], shape: [Int]? = nil) throws(TensorBundleError) {
        try self.init(dtype: .i32, shape: shape ?? [values.count], bytes: Self.littleEndianBytes(values))
    }

    public init(uint8s values: [UInt8], shape: [Int]? = nil) throws(TensorBundleError) {
        try self.init(dtype: .u8, shape: shape ?? [values.count], bytes: values[...])
    }

    public init(bools values: [Bool], shape: [Int]? = nil) throws(TensorBundleError) {
        try self.init(dtype: .bool, shape: shape ?? [values.count], bytes: values.map { $0 ? 1 : 0 }[...])
    }

    // MARK: Typed access

    public func floats() throws(TensorBundleError) -> [Float] {
        try require(.f32)
        if Self.isLittleEndianHost { return copyElements(Float.self) }
        return load(UInt32.self).map(Float.init(bitPattern:))
    }

    /// `F16` elements as raw bit patterns (convert with `Float16(bitPattern:)` where available).
    public func float16Bits() throws(TensorBundleError) -> [UInt16] {
        try require(.f16)
        return load(UInt16.self)
    }

    public func int64s() throws(TensorBundleError) -> [Int64] {
        try require(.i64)
        return load(Int64.self)
    }

    public func int32s() throws(TensorBundleError) -> [Int32] {
        try require(.i32)
        return load(Int32.self)
    }

    public func uint8s() throws(TensorBundleError) -> [UInt8] {
        try require(.u8)
        return Array(bytes)
    }

    public func bools() throws(TensorBundleError) -> [Bool] {
        try require(.bool)
        return bytes.map { $0 != 0 }
    }

    private func require(_ wanted: TensorDType) throws(TensorBundleError) {
        guard dtype == wanted else {
            throw TensorBundleError(.wrongDType, "tensor holds \(dtype.rawValue), not \(wanted.rawValue)")
        }
    }

    private func load<T: FixedWidthInteger & BitwiseCopyable>(_: T.Type) -> [T] {
        if Self.isLittleEndianHost { return copyElements(T.self) }
        let size = MemoryLayout<T>.size
        let count = bytes.count / size
        return bytes.withUnsafeBytes { raw in
            [T](unsafeUninitializedCapacity: count) { buffer, initialized in
                for index in 0..<count {
                    buffer[index] = T(littleEndian: raw.loadUnaligned(fromByteOffset: index * size, as: T.self))
                }
                initialized = count
            }
        }
    }

    /// Whether this machine stores numbers little-endian, so bytes copy without conversion.
    static let isLittleEndianHost = UInt16(1).littleEndian == 1

    /// The bytes reinterpreted as elements with one copy (little-endian hosts only).
    private func copyElements<T: BitwiseCopyable>(_: T.Type) -> [T] {
        let count = bytes.count / MemoryLayout<T>.size
        return bytes.withUnsafeBytes { raw in
            [T](unsafeUninitializedCapacity: count) { buffer, initialized in
                UnsafeMutableRawBufferPointer(buffer).copyMemory(from: UnsafeRawBufferPointer(rebasing: raw[0..<(count * MemoryLayout<T>.size)]))
                initialized = count
            }
        }
    }

    static func littleEndianBytes<T: FixedWidthInteger>(_ values: [T]) -> ArraySlice<UInt8> {
        if isLittleEndianHost { return values.withUnsafeBytes { Array($0)[...] } }
        var out = [UInt8]()
        out.reserveCapacity(values.count * MemoryLayout<T>.size)
        for value in values {
            withUnsafeBytes(of: value.littleEndian) { out.append(contentsOf: $0) }
        }
        return out[...]
    }
}

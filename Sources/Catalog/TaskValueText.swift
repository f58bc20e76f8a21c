import S2M3Core

/// Reading `string` and number tensors of task values, whatever form they travel in.
public enum TaskValueText {
    /// The strings of a `string` tensor: one marked `text/plain` is one string, one marked
    /// `application/json` (or unmarked JSON) is a list.
    public static func strings(_ bundle: TensorBundle, _ name: String) throws(TensorBundleError) -> [String] {
        if bundle.contentType(of: name) == TensorBundle.textContentType { return [try bundle.text(name)] }
        return try bundle.texts(name)
    }

    /// Numbers of a float or integer tensor as `Float`.
    public static func numbers(_ tensor: BundleTensor) throws(TensorBundleError) -> [Float] {
        switch tensor.dtype {
        case .f32: return try tensor.floats()
        case .i64: return try tensor.int64s().map(Float.init)
        case .i32: return try tensor.int32s().map(Float.init)
        case .u8: return try tensor.uint8s().map(Float.init)
        case .bool: return try tensor.bools().map { $0 ? 1 : 0 }
        case .f16: return try tensor.float16Bits().map { Float(Float16(bitPattern: $0)) }
        }
    }
}

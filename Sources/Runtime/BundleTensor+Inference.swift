import Inference
import S2M3Core

extension BundleTensor {
    /// The engine tensor with the same dtype, shape and values.
    func engineTensor(module: String, input: String) throws(ModuleError) -> Tensor {
        let type: TensorElementType
        switch dtype {
        case .f32: type = .float32
        case .i64: type = .int64
        case .i32: type = .int32
        case .u8: type = .uint8
        case .bool: type = .bool
        case .f16: throw ModuleError(.wrongInput, module: module, input: input, "float16 tensors are not supported by the engine")
        }
        do {
            return try Tensor(elementType: type, shape: shape, littleEndianBytes: Array(bytes))
        } catch {
            throw ModuleError(.wrongInput, module: module, input: input, error.description)
        }
    }

    /// A bundle tensor with the engine tensor's dtype, shape and values.
    init(_ tensor: Tensor, module: String) throws(ModuleError) {
        let dtype: TensorDType
        switch tensor.elementType {
        case .float32: dtype = .f32
        case .int64: dtype = .i64
        case .int32: dtype = .i32
        case .uint8: dtype = .u8
        case .bool: dtype = .bool
        default: throw ModuleError(.runFailed, module: module, "the model answered a \(tensor.elementType) tensor")
        }
        do {
            try self.init(dtype: dtype, shape: tensor.shape, bytes: tensor.littleEndianBytes)
        } catch {
            throw ModuleError(.runFailed, module: module, error.message)
        }
    }
}

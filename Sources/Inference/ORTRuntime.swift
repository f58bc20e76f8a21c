internal import COnnxRuntime

/// The one seam to ONNX Runtime's C API: the function table, status checking and handle ownership.
/// Every ORT call in this package goes through ``ORTRuntime/api`` and ``ORTRuntime/check(_:_:_:modelPath:tensorName:)``.
enum ORTRuntime {
    /// ONNX Runtime's function table for the API version of our headers. Immutable for the life of
    /// the process, so sharing it between threads is safe.
    private struct Table: @unchecked Sendable {
        let api: UnsafePointer<OrtApi>?
    }

    private static let table = Table(api: OrtGetApiBase()?.pointee.GetApi(UInt32(ORT_API_VERSION)))

    /// The function table, or `runtimeFailure` if the installed library does not serve our API version.
    static func api() throws(InferenceError) -> OrtApi {
        guard let api = table.api else {
            throw InferenceError(
                .runtimeFailure,
                "the installed ONNX Runtime does not serve C API version \(ORT_API_VERSION); install ONNX Runtime 1.21 or newer (scripts/setup.sh)")
        }
        return api.pointee
    }

    /// Turns an `OrtStatus*` into an ``InferenceError`` carrying ORT's message, and releases it.
    static func check(
        _ status: OpaquePointer?, _ code: InferenceError.Code, _ message: @autoclosure () -> String,
        modelPath: String? = nil, tensorName: String? = nil
    ) throws(InferenceError) {
        guard let status else { return }
        let api = try api()
        let runtimeMessage = api.GetErrorMessage(status).map { String(cString: $0) } ?? "no message"
        api.ReleaseStatus(status)
        throw InferenceError(code, message(), runtimeMessage: runtimeMessage, modelPath: modelPath, tensorName: tensorName)
    }

    /// Converts ORT's element type enumeration.
    static func elementType(_ raw: ONNXTensorElementDataType) -> TensorElementType {
        switch raw {
        case ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT: .float32
        case ONNX_TENSOR_ELEMENT_DATA_TYPE_INT64: .int64
        case ONNX_TENSOR_ELEMENT_DATA_TYPE_INT32: .int32
        case ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT8: .uint8
        case ONNX_TENSOR_ELEMENT_DATA_TYPE_BOOL: .bool
        case ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT16: .float16
        case ONNX_TENSOR_ELEMENT_DATA_TYPE_BFLOAT16: .bfloat16
        case ONNX_TENSOR_ELEMENT_DATA_TYPE_DOUBLE: .float64
        case ONNX_TENSOR_ELEMENT_DATA_TYPE_INT8: .int8
        case ONNX_TENSOR_ELEMENT_DATA_TYPE_INT16: .int16
        case ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT16: .uint16
        case ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT32: .uint32
        case ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT64: .uint64
        case ONNX_TENSOR_ELEMENT_DATA_TYPE_STRING: .string
        default: .other
        }
    }

    /// ORT's enumeration value for an exchangeable element type.
    static func onnxType(_ type: TensorElementType) -> ONNXTensorElementDataType {
        switch type {
        case .float32: ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT
        case .int64: ONNX_TENSOR_ELEMENT_DATA_TYPE_INT64
        case .int32: ONNX_TENSOR_ELEMENT_DATA_TYPE_INT32
        case .uint8: ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT8
        case .bool: ONNX_TENSOR_ELEMENT_DATA_TYPE_BOOL
        default: ONNX_TENSOR_ELEMENT_DATA_TYPE_UNDEFINED
        }
    }
}

/// Owns one ONNX Runtime object (environment, session options, session, value, type info) and
/// releases it exactly once, in `deinit`.
///
/// `@unchecked Sendable`: the pointer is immutable after `init` and released only in `deinit`. The
/// objects shared between threads are the environment and the session, which ONNX Runtime documents
/// as safe for concurrent use (`Run` may be called from several threads at once); values and type
/// infos are created, used and released on one thread.
final class ORTHandle: @unchecked Sendable {
    let pointer: OpaquePointer
    private let release: (OpaquePointer) -> Void

    init(_ pointer: OpaquePointer, release: @escaping (OpaquePointer) -> Void) {
        self.pointer = pointer
        self.release = release
    }

    deinit { release(pointer) }
}

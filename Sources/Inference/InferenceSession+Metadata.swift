internal import COnnxRuntime

/// Reading a model's declared inputs and outputs.
extension InferenceSession {
    static func readSpecs(
        _ api: OrtApi, _ session: OpaquePointer, _ modelPath: String, isInput: Bool
    ) throws(InferenceError) -> [TensorSpec] {
        let what = isInput ? "input" : "output"
        var allocator: UnsafeMutablePointer<OrtAllocator>?
        try ORTRuntime.check(
            api.GetAllocatorWithDefaultOptions(&allocator), .runtimeFailure, "cannot get the default allocator")
        var count = 0
        try ORTRuntime.check(
            isInput ? api.SessionGetInputCount(session, &count) : api.SessionGetOutputCount(session, &count),
            .invalidModel, "cannot count the model's \(what)s", modelPath: modelPath)

        var specs: [TensorSpec] = []
        for index in 0..<count {
            var rawName: UnsafeMutablePointer<CChar>?
            try ORTRuntime.check(
                isInput
                    ? api.SessionGetInputName(session, index, allocator, &rawName)
                    : api.SessionGetOutputName(session, index, allocator, &rawName),
                .invalidModel, "cannot read the name of \(what) \(index)", modelPath: modelPath)
            let name = rawName.map { String(cString: $0) } ?? ""
            if let rawName { _ = api.AllocatorFree(allocator, rawName) }

            var rawTypeInfo: OpaquePointer?
            try ORTRuntime.check(
                isInput
                    ? api.SessionGetInputTypeInfo(session, index, &rawTypeInfo)
                    : api.SessionGetOutputTypeInfo(session, index, &rawTypeInfo),
                .invalidModel, "cannot read the type of \(what) '\(name)'", modelPath: modelPath, tensorName: name)
            let typeInfo = ORTHandle(rawTypeInfo!) { api.ReleaseTypeInfo($0) }
            specs.append(try spec(api, typeInfo.pointer, name: name, modelPath: modelPath))
        }
        return specs
    }

    private static func spec(
        _ api: OrtApi, _ typeInfo: OpaquePointer, name: String, modelPath: String
    ) throws(InferenceError) -> TensorSpec {
        var onnxType = ONNX_TYPE_UNKNOWN
        try ORTRuntime.check(
            api.GetOnnxTypeFromTypeInfo(typeInfo, &onnxType), .invalidModel,
            "cannot read the value kind of '\(name)'", modelPath: modelPath, tensorName: name)
        guard onnxType == ONNX_TYPE_TENSOR else {
            return TensorSpec(name: name, elementType: nil, shape: [])
        }
        var tensorInfo: OpaquePointer?
        try ORTRuntime.check(
            api.CastTypeInfoToTensorInfo(typeInfo, &tensorInfo), .invalidModel,
            "cannot read the tensor type of '\(name)'", modelPath: modelPath, tensorName: name)
        // Owned by the type info; not released separately.
        let shape = try tensorShape(api, tensorInfo!, name: name, modelPath: modelPath)
        return TensorSpec(name: name, elementType: shape.elementType, shape: shape.dims, dimensionNames: shape.names)
    }

    /// Element type, dimensions (`nil` when dynamic) and symbolic names of a tensor type-and-shape info.
    static func tensorShape(
        _ api: OrtApi, _ info: OpaquePointer, name: String, modelPath: String
    ) throws(InferenceError) -> (elementType: TensorElementType, dims: [Int?], names: [String]) {
        var rawType = ONNX_TENSOR_ELEMENT_DATA_TYPE_UNDEFINED
        try ORTRuntime.check(
            api.GetTensorElementType(info, &rawType), .invalidModel,
            "cannot read the element type of '\(name)'", modelPath: modelPath, tensorName: name)
        var rank = 0
        try ORTRuntime.check(
            api.GetDimensionsCount(info, &rank), .invalidModel,
            "cannot read the rank of '\(name)'", modelPath: modelPath, tensorName: name)
        var dims = [Int64](repeating: 0, count: rank)
        try ORTRuntime.check(
            api.GetDimensions(info, &dims, rank), .invalidModel,
            "cannot read the shape of '\(name)'", modelPath: modelPath, tensorName: name)
        var symbols = [UnsafePointer<CChar>?](repeating: nil, count: rank)
        try ORTRuntime.check(
            api.GetSymbolicDimensions(info, &symbols, rank), .invalidModel,
            "cannot read the dimension names of '\(name)'", modelPath: modelPath, tensorName: name)
        return (
            ORTRuntime.elementType(rawType),
            dims.map { $0 >= 0 ? Int($0) : nil },
            symbols.map { $0.map { String(cString: $0) } ?? "" }
        )
    }
}

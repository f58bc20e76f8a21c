internal import COnnxRuntime
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Running the model.
extension InferenceSession {
    /// Runs the model on `inputs` (by input name) and returns the requested `outputs` (all outputs
    /// when empty). Executes on the session's thread pool; the calling task only awaits.
    ///
    /// - Throws: `missingInput`, `unknownInput`, `unknownOutput`, `wrongElementType`, `wrongShape` or
    ///   `unsupportedType` before anything runs, naming the tensor; `runFailed` with ONNX Runtime's
    ///   message when the run itself fails.
    ///
    /// Cancelling the calling task skips a run that has not started and stops one in progress at the
    /// next operator boundary; both throw `cancelled`.
    public func run(inputs: [String: Tensor], outputs names: [String] = []) async throws(InferenceError) -> [String: Tensor] {
        let wanted = names.isEmpty ? outputs.map(\.name) : names
        try validate(inputs: inputs, outputs: wanted)
        let cancellation = try RunCancellation(api: ORTRuntime.api())
        let modelPath = self.modelPath
        let result: Result<[String: Tensor], InferenceError> = await withTaskCancellationHandler {
            await threadPool.execute {
                guard !cancellation.isCancelled else {
                    return .failure(InferenceError(.cancelled, "the run was cancelled before it started", modelPath: modelPath))
                }
                let result = Result { () throws(InferenceError) in
                    try self.runBlocking(inputs: inputs, outputs: wanted, cancellation: cancellation)
                }
                if self.configuration.returnMemoryAfterRun { ResidentMemory.returnFreedMemory() }
                return result
            }
        } onCancel: {
            cancellation.cancel()
        }
        return try result.get()
    }

    /// Checks names, element types and shapes against the model's declared interface.
    func validate(inputs: [String: Tensor], outputs wanted: [String]) throws(InferenceError) {
        let expected = self.inputs.map(\.name).joined(separator: ", ")
        for name in inputs.keys.sorted() where !self.inputs.contains(where: { $0.name == name }) {
            throw InferenceError(
                .unknownInput, "the model has no input '\(name)'; its inputs are: \(expected)",
                modelPath: modelPath, tensorName: name)
        }
        for spec in self.inputs {
            guard let tensor = inputs[spec.name] else {
                throw InferenceError(
                    .missingInput, "input '\(spec.name)' is required; the model's inputs are: \(expected)",
                    modelPath: modelPath, tensorName: spec.name)
            }
            guard let declared = spec.elementType, declared.isExchangeable else {
                throw InferenceError(
                    .unsupportedType, "input '\(spec.name)' has type \(spec.elementType?.rawValue ?? "non-tensor"), which this engine cannot pass",
                    modelPath: modelPath, tensorName: spec.name)
            }
            guard tensor.elementType == declared else {
                throw InferenceError(
                    .wrongElementType, "input '\(spec.name)' must be \(declared.rawValue), got \(tensor.elementType.rawValue)",
                    modelPath: modelPath, tensorName: spec.name)
            }
            guard spec.accepts(shape: tensor.shape) else {
                throw InferenceError(
                    .wrongShape, "input '\(spec.name)' must have shape \(spec.shapeDescription), got \(tensor.shape)",
                    modelPath: modelPath, tensorName: spec.name)
            }
        }
        let available = outputs.map(\.name).joined(separator: ", ")
        for name in wanted {
            guard let spec = outputs.first(where: { $0.name == name }) else {
                throw InferenceError(
                    .unknownOutput, "the model has no output '\(name)'; its outputs are: \(available)",
                    modelPath: modelPath, tensorName: name)
            }
            guard spec.elementType?.isExchangeable == true else {
                throw InferenceError(
                    .unsupportedType, "output '\(name)' has type \(spec.elementType?.rawValue ?? "non-tensor"), which this engine cannot return; request other outputs",
                    modelPath: modelPath, tensorName: name)
            }
        }
    }

    /// Blocking: wraps the inputs, calls `Run`, copies the outputs into ``Tensor``s.
    private func runBlocking(
        inputs: [String: Tensor], outputs wanted: [String], cancellation: RunCancellation
    ) throws(InferenceError) -> [String: Tensor] {
        let api = try ORTRuntime.api()
        var rawInfo: OpaquePointer?
        try ORTRuntime.check(
            api.CreateCpuMemoryInfo(OrtArenaAllocator, OrtMemTypeDefault, &rawInfo), .runtimeFailure, "cannot describe CPU memory")
        let memory = ORTHandle(rawInfo!) { api.ReleaseMemoryInfo($0) }
        let ordered = self.inputs.map { ($0.name, inputs[$0.name]!) }
        return try withInputValues(api, memory, ordered[...], []) { (values) throws(InferenceError) in
            try runBlocking(api, inputNames: ordered.map(\.0), values: values, outputs: wanted, cancellation: cancellation)
        }
    }

    /// Wraps each input's Swift storage as an ONNX Runtime value without copying it (ONNX Runtime does
    /// not write to inputs) and calls `body` with them while that storage is pinned. The decoder's
    /// caches and features, megabytes per step, are then never copied on their way in.
    private func withInputValues(
        _ api: OrtApi, _ memory: ORTHandle, _ rest: ArraySlice<(String, Tensor)>, _ made: [ORTHandle],
        _ body: ([ORTHandle]) throws(InferenceError) -> [String: Tensor]
    ) throws(InferenceError) -> [String: Tensor] {
        guard let (name, tensor) = rest.first else { return try body(made) }
        let remaining = rest.dropFirst()
        guard tensor.count > 0 else {
            return try withInputValues(api, memory, remaining, made + [try makeEmptyValue(api, tensor, name: name)], body)
        }
        func wrap(_ bytes: UnsafeRawBufferPointer) -> Result<[String: Tensor], InferenceError> {
            Result { () throws(InferenceError) in
                var shape = tensor.shape.map(Int64.init)
                var raw: OpaquePointer?
                try ORTRuntime.check(
                    api.CreateTensorWithDataAsOrtValue(
                        memory.pointer, UnsafeMutableRawPointer(mutating: bytes.baseAddress!), bytes.count, &shape, shape.count,
                        ORTRuntime.onnxType(tensor.elementType), &raw),
                    .runFailed, "cannot pass input '\(name)' with shape \(tensor.shape)", modelPath: modelPath, tensorName: name)
                let value = ORTHandle(raw!) { api.ReleaseValue($0) }
                return try withInputValues(api, memory, remaining, made + [value], body)
            }
        }
        let result: Result<[String: Tensor], InferenceError>
        switch tensor.values {
        case .float32(let v): result = v.withUnsafeBytes(wrap)
        case .int64(let v): result = v.withUnsafeBytes(wrap)
        case .int32(let v): result = v.withUnsafeBytes(wrap)
        case .uint8(let v): result = v.withUnsafeBytes(wrap)
        case .bool(let v): result = v.withUnsafeBytes(wrap)
        }
        return try result.get()
    }

    private func runBlocking(
        _ api: OrtApi, inputNames ordered: [String], values: [ORTHandle], outputs wanted: [String], cancellation: RunCancellation
    ) throws(InferenceError) -> [String: Tensor] {
        let inputNames = ordered.map { UnsafePointer(strdup($0)) }
        let outputNames = wanted.map { UnsafePointer(strdup($0)) }
        defer {
            inputNames.forEach { free(UnsafeMutablePointer(mutating: $0)) }
            outputNames.forEach { free(UnsafeMutablePointer(mutating: $0)) }
        }
        var inputPointers: [OpaquePointer?] = values.map(\.pointer)
        var outputPointers = [OpaquePointer?](repeating: nil, count: wanted.count)
        let status = api.Run(
            session.pointer, cancellation.options.pointer, inputNames, &inputPointers, inputPointers.count,
            outputNames, outputNames.count, &outputPointers)
        let outputValues = outputPointers.map { $0.map { pointer in ORTHandle(pointer) { api.ReleaseValue($0) } } }
        try ORTRuntime.check(
            status, cancellation.isCancelled ? .cancelled : .runFailed,
            cancellation.isCancelled ? "the run was cancelled" : "running the model failed", modelPath: modelPath)

        var results: [String: Tensor] = [:]
        for (name, value) in zip(wanted, outputValues) {
            guard let value else {
                throw InferenceError(.runFailed, "the run returned no value for output '\(name)'", modelPath: modelPath, tensorName: name)
            }
            results[name] = try readValue(api, value.pointer, name: name)
        }
        return results
    }

    /// An ONNX Runtime tensor with no elements (a zero dimension), allocated by ONNX Runtime.
    private func makeEmptyValue(_ api: OrtApi, _ tensor: Tensor, name: String) throws(InferenceError) -> ORTHandle {
        var allocator: UnsafeMutablePointer<OrtAllocator>?
        try ORTRuntime.check(api.GetAllocatorWithDefaultOptions(&allocator), .runtimeFailure, "cannot get the default allocator")
        var shape = tensor.shape.map(Int64.init)
        var raw: OpaquePointer?
        try ORTRuntime.check(
            api.CreateTensorAsOrtValue(allocator, &shape, shape.count, ORTRuntime.onnxType(tensor.elementType), &raw),
            .runFailed, "cannot allocate input '\(name)' with shape \(tensor.shape)", modelPath: modelPath, tensorName: name)
        return ORTHandle(raw!) { api.ReleaseValue($0) }
    }

    /// Copies an output value into a ``Tensor``.
    private func readValue(_ api: OrtApi, _ value: OpaquePointer, name: String) throws(InferenceError) -> Tensor {
        var kind = ONNX_TYPE_UNKNOWN
        try ORTRuntime.check(api.GetValueType(value, &kind), .runFailed, "cannot read output '\(name)'", modelPath: modelPath, tensorName: name)
        guard kind == ONNX_TYPE_TENSOR else {
            throw InferenceError(.unsupportedType, "output '\(name)' is not a tensor", modelPath: modelPath, tensorName: name)
        }
        var rawInfo: OpaquePointer?
        try ORTRuntime.check(
            api.GetTensorTypeAndShape(value, &rawInfo), .runFailed, "cannot read the shape of output '\(name)'",
            modelPath: modelPath, tensorName: name)
        let info = ORTHandle(rawInfo!) { api.ReleaseTensorTypeAndShapeInfo($0) }
        let described = try Self.tensorShape(api, info.pointer, name: name, modelPath: modelPath)
        let shape = described.dims.map { $0 ?? 0 }
        let count = shape.reduce(1, *)
        var data: UnsafeMutableRawPointer?
        if count > 0 {
            try ORTRuntime.check(
                api.GetTensorMutableData(value, &data), .runFailed, "cannot read the values of output '\(name)'",
                modelPath: modelPath, tensorName: name)
        }
        func copy<T>(_: T.Type) -> [T] {
            guard let data, count > 0 else { return [] }
            return Array(UnsafeBufferPointer(start: data.assumingMemoryBound(to: T.self), count: count))
        }
        let values: Tensor.Values
        switch described.elementType {
        case .float32: values = .float32(copy(Float.self))
        case .int64: values = .int64(copy(Int64.self))
        case .int32: values = .int32(copy(Int32.self))
        case .uint8: values = .uint8(copy(UInt8.self))
        case .bool: values = .bool(copy(Bool.self))
        default:
            throw InferenceError(
                .unsupportedType, "output '\(name)' has element type \(described.elementType.rawValue), which this engine cannot return",
                modelPath: modelPath, tensorName: name)
        }
        return try Tensor(values, shape: shape)
    }
}

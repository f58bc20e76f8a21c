internal import COnnxRuntime

/// Measuring what a session costs, for module manifests ("measured resident memory").
extension InferenceSession {
    /// Loads a session and measures the resident memory the process gained: after loading and, when
    /// `warmUp` inputs are given, after one run (which allocates ONNX Runtime's working memory).
    ///
    /// Free memory the allocator kept is returned to the system first, so that the weights' pages
    /// count even where they would have reused it; measure in a process that does little else.
    public static func loadMeasured(
        modelPath: String, configuration: InferenceSessionConfiguration = .init(),
        threadPool: InferenceThreadPool? = nil, warmUp: [String: Tensor]? = nil
    ) async throws(InferenceError) -> (session: InferenceSession, residentBytes: Int) {
        ResidentMemory.returnFreedMemory()
        let before = try ResidentMemory.currentBytes()
        let session = try await load(modelPath: modelPath, configuration: configuration, threadPool: threadPool)
        if let warmUp { _ = try await session.run(inputs: warmUp) }
        return (session, try ResidentMemory.currentBytes() - before)
    }

    /// The version of the ONNX Runtime library in use, e.g. "1.32.0".
    public static var runtimeVersion: String {
        guard let base = OrtGetApiBase(), let version = base.pointee.GetVersionString() else { return "unknown" }
        return String(cString: version)
    }
}

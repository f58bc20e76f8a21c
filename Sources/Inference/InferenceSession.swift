internal import COnnxRuntime
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One ONNX model loaded into ONNX Runtime, ready to run.
///
/// Loading (``init(modelPath:configuration:threadPool:)``) blocks while ONNX Runtime parses and
/// optimises the graph; from async code use ``load(modelPath:configuration:threadPool:)``, which
/// loads on the thread pool. ``run(inputs:outputs:)`` always executes on the session's
/// ``InferenceThreadPool``, never on the cooperative pool. Several runs may be in flight at once
/// (ONNX Runtime allows concurrent `Run` calls on one session); they execute in parallel up to the
/// pool's thread count.
public final class InferenceSession: Sendable {
    public let modelPath: String
    public let configuration: InferenceSessionConfiguration
    /// The model's inputs, in the model's order.
    public let inputs: [TensorSpec]
    /// The model's outputs, in the model's order.
    public let outputs: [TensorSpec]
    /// The threads that execute this session's runs.
    public let threadPool: InferenceThreadPool

    let environment: ORTHandle
    let session: ORTHandle

    /// Loads the model at `modelPath`, blocking the calling thread.
    ///
    /// - Parameter threadPool: where runs execute; by default a new pool with one thread. Share one
    ///   pool between sessions to bound the number of threads on a device.
    /// - Throws: `modelNotFound` when the file cannot be read, `invalidModel` when ONNX Runtime
    ///   rejects it (with its message), `runtimeFailure` for set-up failures.
    public init(
        modelPath: String, configuration: InferenceSessionConfiguration = .init(),
        threadPool: InferenceThreadPool? = nil
    ) throws(InferenceError) {
        guard access(modelPath, R_OK) == 0 else {
            throw InferenceError(
                .modelNotFound,
                "cannot read the model file (\(String(cString: strerror(errno)))); check the path and that set-up has run",
                modelPath: modelPath)
        }
        let api = try ORTRuntime.api()
        self.modelPath = modelPath
        self.configuration = configuration
        self.threadPool = threadPool ?? InferenceThreadPool(threadCount: 1)

        var env: OpaquePointer?
        try ORTRuntime.check(
            api.CreateEnv(ORT_LOGGING_LEVEL_ERROR, "s2m3", &env), .runtimeFailure,
            "cannot create the ONNX Runtime environment", modelPath: modelPath)
        environment = ORTHandle(env!) { api.ReleaseEnv($0) }

        let options = try Self.makeOptions(api, configuration, modelPath)
        var created: OpaquePointer?
        try ORTRuntime.check(
            api.CreateSession(environment.pointer, modelPath, options.pointer, &created), .invalidModel,
            "ONNX Runtime cannot load the model; check that the file is a complete ONNX model", modelPath: modelPath)
        session = ORTHandle(created!) { api.ReleaseSession($0) }

        inputs = try Self.readSpecs(api, session.pointer, modelPath, isInput: true)
        outputs = try Self.readSpecs(api, session.pointer, modelPath, isInput: false)
    }

    /// Loads the model on `threadPool` (or a new one-thread pool) without blocking the caller's thread.
    public static func load(
        modelPath: String, configuration: InferenceSessionConfiguration = .init(),
        threadPool: InferenceThreadPool? = nil
    ) async throws(InferenceError) -> InferenceSession {
        let pool = threadPool ?? InferenceThreadPool(threadCount: 1)
        let result: Result<InferenceSession, InferenceError> = await pool.execute {
            Result { () throws(InferenceError) in
                try InferenceSession(modelPath: modelPath, configuration: configuration, threadPool: pool)
            }
        }
        return try result.get()
    }

    private static func makeOptions(
        _ api: OrtApi, _ configuration: InferenceSessionConfiguration, _ modelPath: String
    ) throws(InferenceError) -> ORTHandle {
        var raw: OpaquePointer?
        try ORTRuntime.check(api.CreateSessionOptions(&raw), .runtimeFailure, "cannot create session options")
        let options = ORTHandle(raw!) { api.ReleaseSessionOptions($0) }
        let level = configuration.optimizeFully ? ORT_ENABLE_ALL : ORT_ENABLE_BASIC
        try ORTRuntime.check(
            api.SetIntraOpNumThreads(options.pointer, Int32(max(1, configuration.intraOpThreads))), .runtimeFailure,
            "cannot set intra-op threads to \(configuration.intraOpThreads)", modelPath: modelPath)
        try ORTRuntime.check(
            api.SetInterOpNumThreads(options.pointer, Int32(max(1, configuration.interOpThreads))), .runtimeFailure,
            "cannot set inter-op threads to \(configuration.interOpThreads)", modelPath: modelPath)
        try ORTRuntime.check(
            api.SetSessionGraphOptimizationLevel(options.pointer, level), .runtimeFailure,
            "cannot set the graph optimisation level", modelPath: modelPath)
        try ORTRuntime.check(
            configuration.memoryArena ? api.EnableCpuMemArena(options.pointer) : api.DisableCpuMemArena(options.pointer),
            .runtimeFailure, "cannot set the CPU memory arena", modelPath: modelPath)
        try ORTRuntime.check(
            configuration.memoryPattern ? api.EnableMemPattern(options.pointer) : api.DisableMemPattern(options.pointer),
            .runtimeFailure, "cannot set the memory pattern", modelPath: modelPath)
        let spin = configuration.allowSpinning ? "1" : "0"
        for key in ["session.intra_op.allow_spinning", "session.inter_op.allow_spinning"] {
            try ORTRuntime.check(
                api.AddSessionConfigEntry(options.pointer, key, spin), .runtimeFailure,
                "cannot set \(key)", modelPath: modelPath)
        }
        return options
    }
}

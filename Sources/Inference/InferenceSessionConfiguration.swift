/// How an ``InferenceSession`` runs its model.
public struct InferenceSessionConfiguration: Sendable, Hashable {
    /// Threads ONNX Runtime uses inside one operator. On small shared machines one thread per session
    /// was measured faster than two; raise it on an otherwise idle multi-core device.
    public var intraOpThreads: Int
    /// Threads ONNX Runtime uses to run independent operators in parallel.
    public var interOpThreads: Int
    /// Whether idle ONNX Runtime worker threads may spin (burns CPU, lowers latency slightly).
    public var allowSpinning: Bool
    /// Whether ONNX Runtime applies all graph optimisations (else only basic ones).
    public var optimizeFully: Bool
    /// Whether ONNX Runtime keeps its CPU memory arena (`EnableCpuMemArena`): freed blocks are kept for
    /// later runs and never handed back, so a device stays at the peak of its largest run.
    public var memoryArena: Bool
    /// Whether ONNX Runtime plans a run's intermediate tensors as one block from an earlier run of the
    /// same shapes (`EnableMemPattern`).
    public var memoryPattern: Bool
    /// Whether the C library's free pages are returned to the system after every run (`malloc_trim`),
    /// so that a run's working set does not stay resident after it.
    public var returnMemoryAfterRun: Bool

    /// The defaults were chosen from measurements (docs/benchmarks.md, "Memory settings of ONNX
    /// Runtime"): no arena and memory returned after each run keep a device near its load-time
    /// footprint between runs at a small cost in run time.
    public init(
        intraOpThreads: Int = 1, interOpThreads: Int = 1, allowSpinning: Bool = false, optimizeFully: Bool = true,
        memoryArena: Bool = false, memoryPattern: Bool = true, returnMemoryAfterRun: Bool = true
    ) {
        self.intraOpThreads = intraOpThreads
        self.interOpThreads = interOpThreads
        self.allowSpinning = allowSpinning
        self.optimizeFully = optimizeFully
        self.memoryArena = memoryArena
        self.memoryPattern = memoryPattern
        self.returnMemoryAfterRun = returnMemoryAfterRun
    }

    /// ONNX Runtime's own defaults (arena and memory pattern on, nothing returned): the baseline the
    /// memory benchmark compares with.
    public static let runtimeDefaults = InferenceSessionConfiguration(memoryArena: true, memoryPattern: true, returnMemoryAfterRun: false)

    /// The memory settings by name, as `--memory-settings` and the benchmark spell them:
    /// `arena` (ONNX Runtime's defaults), `no-arena`, `no-arena-no-pattern`, `no-arena-trim` (the default).
    public static let memorySettings: [(name: String, configuration: InferenceSessionConfiguration)] = [
        ("arena", runtimeDefaults),
        ("no-arena", .init(memoryArena: false, memoryPattern: true, returnMemoryAfterRun: false)),
        ("no-arena-no-pattern", .init(memoryArena: false, memoryPattern: false, returnMemoryAfterRun: false)),
        ("no-arena-trim", .init(memoryArena: false, memoryPattern: true, returnMemoryAfterRun: true)),
    ]

    /// The configuration of a memory setting's name, or nil for an unknown name.
    public static func memorySetting(named name: String) -> InferenceSessionConfiguration? {
        memorySettings.first { $0.name == name }?.configuration
    }
}

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

    public init(intraOpThreads: Int = 1, interOpThreads: Int = 1, allowSpinning: Bool = false, optimizeFully: Bool = true) {
        self.intraOpThreads = intraOpThreads
        self.interOpThreads = interOpThreads
        self.allowSpinning = allowSpinning
        self.optimizeFully = optimizeFully
    }
}

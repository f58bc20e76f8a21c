internal import COnnxRuntime
import Synchronization

/// Cancels one run: before it starts (it is then skipped) or while ONNX Runtime executes it (through
/// the run options' terminate flag, which ONNX Runtime checks between operators).
///
/// `@unchecked Sendable`: `isCancelled` is atomic; the run options are written by ONNX Runtime's
/// `RunOptionsSetTerminate`, documented as safe to call from another thread during `Run`, and are
/// released once, in `deinit`.
final class RunCancellation: @unchecked Sendable {
    let options: ORTHandle
    private let cancelled = Atomic<Bool>(false)
    private let api: OrtApi

    init(api: OrtApi) throws(InferenceError) {
        var raw: OpaquePointer?
        try ORTRuntime.check(api.CreateRunOptions(&raw), .runtimeFailure, "cannot create run options")
        options = ORTHandle(raw!) { api.ReleaseRunOptions($0) }
        self.api = api
    }

    var isCancelled: Bool { cancelled.load(ordering: .acquiring) }

    func cancel() {
        cancelled.store(true, ordering: .releasing)
        if let status = api.RunOptionsSetTerminate(options.pointer) { api.ReleaseStatus(status) }
    }
}

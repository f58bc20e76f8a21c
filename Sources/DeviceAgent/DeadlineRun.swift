/// Runs a module invocation until it finishes or its deadline passes, whichever comes first.
///
/// At the deadline the run's task is cancelled: ONNX Runtime stops at its next operator boundary
/// (the terminate flag of `InferenceSession.run`), and a multi-step driver (Whisper's greedy
/// decoder, OCR's per-line recogniser) skips its remaining runs. `run` returns once the work has
/// stopped, so the device's queue slot is freed only when its core is.
enum DeadlineRun {
    enum Outcome<Value: Sendable>: Sendable {
        case finished(Value)
        case deadlinePassed
    }

    static func run<Value: Sendable>(
        until deadline: ContinuousClock.Instant, _ operation: @escaping @Sendable () async -> Value
    ) async -> Outcome<Value> {
        await withTaskGroup(of: Outcome<Value>?.self) { group in
            group.addTask { .finished(await operation()) }
            group.addTask {
                do {
                    try await Task.sleep(until: deadline, clock: .continuous)
                    return .deadlinePassed
                } catch {
                    return nil  // cancelled: the operation finished first
                }
            }
            var outcome: Outcome<Value>?
            while outcome == nil, let next = await group.next() {
                outcome = next
                if outcome != nil { group.cancelAll() }
            }
            // Both children are done here; nil only when the caller itself was cancelled first.
            return outcome ?? .deadlinePassed
        }
    }
}

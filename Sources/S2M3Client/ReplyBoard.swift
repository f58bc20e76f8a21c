import MQTTBus
import Synchronization

/// Matches answers on the reply topic to the requests waiting for them, by request id. An answer
/// that arrives before its waiter is kept until the waiter comes (or the board is closed).
final class ReplyBoard: Sendable {
    private struct State {
        var waiters: [String: CheckedContinuation<MQTTMessage, any Error>] = [:]
        var early: [String: MQTTMessage] = [:]
        var closed = false
    }

    private let state = Mutex(State())

    /// Waits for the answer to `id`; throws `CancellationError` when cancelled, ``S2M3ClientError``
    /// `closed` when the board closes.
    func wait(for id: String) async throws -> MQTTMessage {
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                let resume: Result<MQTTMessage, any Error>? = state.withLock { state in
                    if let message = state.early.removeValue(forKey: id) { return .success(message) }
                    if state.closed { return .failure(S2M3ClientError(.closed, "the client is closed")) }
                    if Task.isCancelled { return .failure(CancellationError()) }
                    state.waiters[id] = continuation
                    return nil
                }
                if let resume { continuation.resume(with: resume) }
            }
        } onCancel: {
            state.withLock { $0.waiters.removeValue(forKey: id) }?.resume(throwing: CancellationError())
        }
    }

    /// Hands `message` to the waiter of `id` (or keeps it for one).
    func deliver(_ message: MQTTMessage, id: String) {
        let waiter: CheckedContinuation<MQTTMessage, any Error>? = state.withLock { state in
            if let waiter = state.waiters.removeValue(forKey: id) { return waiter }
            if !state.closed, state.early.count < 1024 { state.early[id] = message }
            return nil
        }
        waiter?.resume(returning: message)
    }

    /// Forgets an early answer nobody will wait for.
    func discard(_ id: String) { state.withLock { _ = $0.early.removeValue(forKey: id) } }

    /// Fails every waiter and refuses new ones.
    func close() {
        let waiters = state.withLock { state in
            state.closed = true
            defer { state.waiters = [:]; state.early = [:] }
            return Array(state.waiters.values)
        }
        for waiter in waiters { waiter.resume(throwing: S2M3ClientError(.closed, "the client is closed")) }
    }
}

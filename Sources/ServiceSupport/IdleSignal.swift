import Synchronization

/// Whether a service has work in flight, and a way to wait until it has none: draining waits on
/// this signal instead of polling. The service calls ``update(idle:)`` whenever its counts change;
/// ``wait(timeout:)`` returns as soon as the service is idle, or when the timeout passes.
///
/// `Sendable` through its `Mutex`: waiters are resumed outside the lock, each exactly once (by an
/// update, the timeout, or cancellation).
public final class IdleSignal: Sendable {
    private struct State {
        var idle = true
        var nextID = 0
        var waiters: [Int: CheckedContinuation<Void, Never>] = [:]
    }

    private let state = Mutex(State())

    public init() {}

    public var isIdle: Bool { state.withLock { $0.idle } }

    /// Records whether the service is idle now; becoming idle wakes every waiter.
    public func update(idle: Bool) {
        let woken: [CheckedContinuation<Void, Never>] = state.withLock { state in
            state.idle = idle
            guard idle else { return [] }
            defer { state.waiters = [:] }
            return Array(state.waiters.values)
        }
        woken.forEach { $0.resume() }
    }

    /// Waits until the service is idle or `timeout` passes; returns whether it is idle.
    @discardableResult
    public func wait(timeout: Duration) async -> Bool {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.waitUntilIdle() }
            group.addTask { try? await Task.sleep(for: timeout) }
            await group.next()
            group.cancelAll()
        }
        return isIdle
    }

    /// Returns when idle (at once if it is) or when the task is cancelled.
    public func waitUntilIdle() async {
        let id: Int? = state.withLock { state in
            guard !state.idle else { return nil }
            state.nextID += 1
            return state.nextID
        }
        guard let id else { return }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let resumeNow = state.withLock { state -> Bool in
                    if state.idle || Task.isCancelled { return true }
                    state.waiters[id] = continuation
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            let waiter = state.withLock { $0.waiters.removeValue(forKey: id) }
            waiter?.resume()
        }
    }
}

import Synchronization

/// Whether a service has work in flight, and a way to wait until it has none (draining waits on
/// this signal instead of polling) or until it has some (a ticker parks on it while there is
/// nothing to time). The service calls ``update(idle:)`` whenever its counts change;
/// ``wait(timeout:)`` returns as soon as the service is idle, ``waitUntilBusy(timeout:)`` as soon
/// as it is not, each at the latest when the timeout passes.
///
/// `Sendable` through its `Mutex`: waiters are resumed outside the lock, each exactly once (by an
/// update, the timeout, or cancellation).
public final class IdleSignal: Sendable {
    private struct State {
        var idle = true
        var nextID = 0
        /// Each waiter with the state it waits for (true: idle).
        var waiters: [Int: (idle: Bool, continuation: CheckedContinuation<Void, Never>)] = [:]
    }

    private let state = Mutex(State())

    public init() {}

    public var isIdle: Bool { state.withLock { $0.idle } }

    /// Records whether the service is idle now, and wakes whoever waits for that state.
    public func update(idle: Bool) {
        let woken: [CheckedContinuation<Void, Never>] = state.withLock { state in
            state.idle = idle
            guard !state.waiters.isEmpty else { return [] }  // the common case, on every update
            let due = state.waiters.filter { $0.value.idle == idle }
            guard !due.isEmpty else { return [] }
            for id in due.keys { state.waiters[id] = nil }
            return due.values.map(\.continuation)
        }
        woken.forEach { $0.resume() }
    }

    /// Waits until the service is idle or `timeout` passes; returns whether it is idle.
    @discardableResult
    public func wait(timeout: Duration) async -> Bool {
        await wait(untilIdleIs: true, timeout: timeout)
        return isIdle
    }

    /// Waits until the service is not idle or `timeout` passes.
    public func waitUntilBusy(timeout: Duration) async {
        await wait(untilIdleIs: false, timeout: timeout)
    }

    /// Returns when idle (at once if it is) or when the task is cancelled.
    public func waitUntilIdle() async {
        await wait(untilIdleIs: true)
    }

    private func wait(untilIdleIs idle: Bool, timeout: Duration) async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.wait(untilIdleIs: idle) }
            group.addTask { try? await Task.sleep(for: timeout) }
            await group.next()
            group.cancelAll()
        }
    }

    /// Returns when `isIdle` equals `idle` (at once if it does) or when the task is cancelled.
    private func wait(untilIdleIs idle: Bool) async {
        let id: Int? = state.withLock { state in
            guard state.idle != idle else { return nil }
            state.nextID += 1
            return state.nextID
        }
        guard let id else { return }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let resumeNow = state.withLock { state -> Bool in
                    if state.idle == idle || Task.isCancelled { return true }
                    state.waiters[id] = (idle, continuation)
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            let waiter = state.withLock { $0.waiters.removeValue(forKey: id) }
            waiter?.continuation.resume()
        }
    }
}

import Synchronization

/// Counts units of work in flight (requests being answered) and signals when none is left, for a
/// service whose work is not tracked by a state machine of its own.
public final class InFlight: Sendable {
    private let count = Mutex(0)
    private let idle = IdleSignal()

    public init() {}

    public var current: Int { count.withLock { $0 } }

    /// Runs `work` counted as in flight.
    public func track<T: Sendable>(_ work: () async throws -> T) async rethrows -> T {
        idle.update(idle: count.withLock { $0 += 1; return false })
        defer { idle.update(idle: count.withLock { $0 -= 1; return $0 == 0 }) }
        return try await work()
    }

    /// Waits until nothing is in flight or `timeout` passes; returns whether nothing is.
    @discardableResult
    public func drained(timeout: Duration) async -> Bool {
        await idle.wait(timeout: timeout)
    }
}

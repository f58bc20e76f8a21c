import Foundation

/// Runs blocking or long CPU work (a placement solve, waiting for a child process) on a thread of
/// its own, never on the cooperative pool, and returns its result to the awaiting task.
public func runOffPool<Value: Sendable, Failure: Error>(
    _ name: String = "s2m3-off-pool", _ work: @escaping @Sendable () throws(Failure) -> Value
) async throws(Failure) -> Value {
    let result: Result<Value, Failure> = await withCheckedContinuation { continuation in
        let thread = Thread {
            continuation.resume(returning: Result { () throws(Failure) -> Value in try work() })
        }
        thread.name = name
        thread.start()
    }
    return try result.get()
}

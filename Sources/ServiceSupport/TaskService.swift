import ServiceLifecycle

/// A piece of work run as a process's service (so that SIGTERM and SIGINT reach it as graceful
/// shutdown): the work itself decides what graceful shutdown means for it, typically by racing
/// ``ServiceLifecycle/gracefulShutdown()`` against its own end.
public struct TaskService: Service {
    private let work: @Sendable () async throws -> Void

    public init(_ work: @escaping @Sendable () async throws -> Void) {
        self.work = work
    }

    public func run() async throws {
        try await work()
    }
}

import ServiceLifecycle

/// A ``RunningCluster`` as a ServiceLifecycle `Service`: ``run()`` starts it (a graceful shutdown
/// during start-up cancels the start, which stops what was started), hands it to `whileReady`
/// (nil: none), then serves until a graceful shutdown, `whileReady` returns, or the cluster fails
/// (a crash loop: thrown), and stops it.
public final class LocalClusterService: Service, Sendable {
    public let configuration: LocalClusterConfiguration
    private let events: @Sendable (ClusterEvent) -> Void
    private let onReady: @Sendable (RunningCluster) -> Void
    private let whileReady: (@Sendable (RunningCluster) async throws -> Void)?

    /// `onReady` is called once the cluster is ready, before `whileReady` runs.
    public init(
        _ configuration: LocalClusterConfiguration, events: @escaping @Sendable (ClusterEvent) -> Void = { _ in },
        onReady: @escaping @Sendable (RunningCluster) -> Void = { _ in },
        whileReady: (@Sendable (RunningCluster) async throws -> Void)? = nil
    ) {
        self.configuration = configuration
        self.events = events
        self.onReady = onReady
        self.whileReady = whileReady
    }

    public func run() async throws {
        let configuration = configuration
        let events = events
        let cluster: RunningCluster
        do {
            cluster = try await cancelWhenGracefulShutdown { try await RunningCluster.start(configuration, events: events) }
        } catch {
            // Stopped by a signal while starting: not a failure.
            if Task.isShuttingDownGracefully || Task.isCancelled { return }
            throw error
        }
        onReady(cluster)
        let whileReady = whileReady
        let failure: (any Error)? = await withTaskGroup(of: (any Error)??.self) { group in
            group.addTask {
                guard let failure = await cluster.failure() else { return nil }
                return .some(failure)
            }
            group.addTask {
                (try? await gracefulShutdown()) == nil ? nil : .some(nil)
            }
            if let whileReady {
                group.addTask {
                    do {
                        try await whileReady(cluster)
                        return .some(nil)
                    } catch {
                        return .some(error)
                    }
                }
            }
            defer { group.cancelAll() }
            while let next = await group.next() {
                if let next { return next }
            }
            return nil
        }
        await cluster.stop()
        if let failure { throw failure }
    }
}

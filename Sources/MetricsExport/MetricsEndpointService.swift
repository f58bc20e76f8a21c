import Foundation
import Logging
import ServiceLifecycle
import Synchronization

/// The HTTP endpoint Prometheus scrapes: `GET /metrics` answers the exposition text of a
/// ``PrometheusMetrics`` (``MetricsHTTPExchange``). The socket is bound when the service is made
/// (so a taken port is an error at start), connections are served one at a time on a thread of
/// the service's own (never on the cooperative pool). A ServiceLifecycle `Service`: on graceful
/// shutdown or cancellation it stops accepting and closes the socket, and ``run()`` returns. List it first in the
/// process's services so it stops last.
public final class MetricsEndpointService: Service, Sendable {
    private let socket: ListeningSocket
    private let metrics: PrometheusMetrics
    private let logger: Logger
    private let stopped = Atomic<Bool>(false)

    /// The port listened on (the one the system chose when 0 was asked for).
    public var port: Int { socket.port }

    /// Binds `host:port` (an IPv4 address; port 0: any free port).
    public init(host: String = "0.0.0.0", port: Int, metrics: PrometheusMetrics, logger: Logger) throws(MetricsEndpointError) {
        guard (0...65535).contains(port) else {
            throw MetricsEndpointError(code: .bind, errno: nil, message: "port \(port) is not 0…65535")
        }
        socket = try ListeningSocket(host: host, port: port)
        self.metrics = metrics
        self.logger = logger
    }

    public func run() async throws {
        logger.info("metrics endpoint serving", metadata: ["metrics.port": "\(port)"])
        let socket = socket, metrics = metrics
        async let loop: Void = runOffPoolThread { [self] in
            while !self.stopped.load(ordering: .relaxed) {
                guard let connection = socket.accept(timeoutMs: 100) else { continue }
                ListeningSocket.serve(connection, limit: MetricsHTTPExchange.maximumHeadBytes, timeoutSeconds: 2) { head in
                    MetricsHTTPExchange.response(to: MetricsHTTPExchange.parse(head), includeBody: !MetricsHTTPExchange.isHead(head)) {
                        metrics.exposition()
                    }
                }
            }
        }
        try? await gracefulShutdown()
        stopped.store(true, ordering: .relaxed)
        await loop
        socket.close()
        logger.info("metrics endpoint stopped", metadata: ["metrics.port": "\(port)"])
    }

    /// Runs `work` on a new thread and awaits its end.
    private func runOffPoolThread(_ work: @escaping @Sendable () -> Void) async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let thread = Thread {
                work()
                continuation.resume()
            }
            thread.name = "s2m3-metrics-http"
            thread.start()
        }
    }
}

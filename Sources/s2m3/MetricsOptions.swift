import ArgumentParser
import Logging
import MetricsExport
import ServiceLifecycle

/// `--metrics-port` and `--metrics-host` of the long-running commands (`device`, `planner`,
/// `aggregator`, `serve`): when a port is given, the process bootstraps swift-metrics with a
/// Prometheus registry and serves it at `http://host:port/metrics` (docs/operations.md).
struct MetricsOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Serve Prometheus metrics at http://HOST:PORT/metrics (0: no endpoint).", valueName: "port"))
    var metricsPort: Int = 0

    @Option(help: ArgumentHelp("IPv4 address the metrics endpoint listens on.", valueName: "address"))
    var metricsHost: String = "0.0.0.0"

    func validate() throws {
        guard (0...65535).contains(metricsPort) else { throw ValidationError("--metrics-port must be 0…65535 (0: no endpoint)") }
    }

    /// With a port: bootstraps the process's metrics (call it before any service or connection is
    /// made, so they record into it) and returns the endpoint, to run first among the process's
    /// services (it then stops last). Without: nothing, and metrics stay no-ops.
    func services(logger: Logger) throws -> [any Service] {
        guard metricsPort != 0 else { return [] }
        let metrics = PrometheusMetrics.bootstrap()
        do {
            return [try MetricsEndpointService(host: metricsHost, port: metricsPort, metrics: metrics, logger: logger)]
        } catch {
            throw ValidationError("--metrics-port \(metricsPort): \(error.message)")
        }
    }
}

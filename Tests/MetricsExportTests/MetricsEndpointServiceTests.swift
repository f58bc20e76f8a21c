import CoreMetrics
#if canImport(Glibc)
import Glibc
#endif
import Logging
import MetricsExport
import ServiceLifecycle
import TestSupport
import Testing

/// The endpoint over a real socket, with a registry of the test's own (no global bootstrap).
@Suite struct MetricsEndpointServiceTests {
    private static var logger: Logger {
        var logger = Logger(label: "s2m3.metrics-tests")
        logger.logLevel = .warning
        return logger
    }

    @Test(.timeLimit(.minutes(1))) func servesWhatWasRecordedAndStopsOnGracefulShutdown() async throws {
        let metrics = PrometheusMetrics()
        let factory = metrics.factory
        Counter(label: "s2m3_requests_total", dimensions: [("task", "classify"), ("outcome", "result")], factory: factory).increment(by: 3)
        Gauge(label: "s2m3_plan_epoch", dimensions: [], factory: factory).record(7)
        Timer(label: "s2m3_request_duration_seconds", dimensions: [("task", "classify")], factory: factory).recordMilliseconds(20)
        let service = try MetricsEndpointService(host: "127.0.0.1", port: 0, metrics: metrics, logger: Self.logger)
        #expect(service.port > 0)
        let group = ServiceGroup(services: [service], logger: Self.logger)
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            let port = service.port
            let response = try await within(.seconds(10), "the metrics response") { try await MetricsScrape.get(port: port) }
            #expect(response.status == 200)
            #expect(response.head.contains("Content-Type: text/plain; version=0.0.4"))
            let samples = MetricsScrape.samples(response.body)
            #expect(samples.total("s2m3_requests_total", ["task": "classify", "outcome": "result"]) == 3)
            #expect(samples.total("s2m3_plan_epoch") == 7)
            #expect(samples.total("s2m3_request_duration_seconds_count", ["task": "classify"]) == 1)
            #expect(samples.total("s2m3_request_duration_seconds_bucket", ["task": "classify", "le": "0.025"]) == 1)
            #expect(samples.total("s2m3_request_duration_seconds_bucket", ["task": "classify", "le": "0.01"]) == 0)
            #expect(samples.total("s2m3_process_resident_memory_bytes") > 1_000_000)
            #expect(response.body.contains("# TYPE s2m3_requests_total counter"))

            let missing = try await within(.seconds(10), "the 404") { try await MetricsScrape.get(port: port, path: "/nothing") }
            #expect(missing.status == 404)
            let post = try await within(.seconds(10), "the 405") { try await MetricsScrape.get(port: port, method: "POST") }
            #expect(post.status == 405)

            await group.triggerGracefulShutdown()
            try await tasks.next()
            // Closed, not merely idle: the connection is refused at once.
            let clock = ContinuousClock()
            let elapsed = clock.measure {
                #expect(throws: MetricsScrape.ScrapeError.self) { try MetricsScrape.getBlocking(port: port) }
            }
            #expect(elapsed < .seconds(2))
        }
    }

    @Test(.timeLimit(.minutes(1))) func aStalledClientHoldsTheEndpointForAtMostItsTimeout() async throws {
        let service = try MetricsEndpointService(host: "127.0.0.1", port: 0, metrics: PrometheusMetrics(), logger: Self.logger)
        let group = ServiceGroup(services: [service], logger: Self.logger)
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            let port = service.port
            let stalled = try MetricsScrape.connectSilently(port: port)
            defer { close(stalled) }
            let clock = ContinuousClock()
            var response: MetricsScrape.Response?
            let elapsed = try await clock.measure {
                response = try await within(.seconds(10), "a scrape behind a stalled client") { try await MetricsScrape.get(port: port) }
            }
            #expect(response?.status == 200)
            #expect(elapsed < .seconds(4), "waited \(elapsed) behind the stalled client (its limit is 2 s)")
            await group.triggerGracefulShutdown()
            try await tasks.next()
        }
    }

    @Test func aTakenPortIsAClearError() throws {
        let first = try MetricsEndpointService(host: "127.0.0.1", port: 0, metrics: PrometheusMetrics(), logger: Self.logger)
        let error = #expect(throws: MetricsEndpointError.self) {
            _ = try MetricsEndpointService(host: "127.0.0.1", port: first.port, metrics: PrometheusMetrics(), logger: Self.logger)
        }
        #expect(error?.code == .bind)
        #expect(error?.message.contains("Address already in use") == true)
    }

    @Test func aHostThatIsNotAnIPv4AddressIsAClearError() {
        let error = #expect(throws: MetricsEndpointError.self) {
            _ = try MetricsEndpointService(host: "metrics.example", port: 0, metrics: PrometheusMetrics(), logger: Self.logger)
        }
        #expect(error?.code == .badAddress)
    }
}

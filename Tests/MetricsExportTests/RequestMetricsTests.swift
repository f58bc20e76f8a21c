import MetricsExport
import ServiceSupport
import TestSupport
import Testing

/// RequestMetrics into a registry of the test's own, read back through the exposition text.
@Suite struct RequestMetricsTests {
    @Test func answersAreCountedByTaskAndOutcomeAndUnknownTasksAreOther() {
        let metrics = PrometheusMetrics()
        let requests = RequestMetrics(tasks: ["classify-image", "transcribe"], factory: metrics.factory)
        requests.result(task: "classify-image", totalMs: 40)
        requests.result(task: "classify-image", totalMs: 3_000)
        requests.error(task: "classify-image", code: "overloaded")
        requests.error(task: "no-such-task", code: "unknown-task")
        requests.error(task: "another-made-up-task", code: "unknown-task")
        let samples = MetricsScrape.samples(String(decoding: metrics.exposition(), as: UTF8.self))
        #expect(samples.total("s2m3_requests_total", ["task": "classify-image", "outcome": "result"]) == 2)
        #expect(samples.total("s2m3_requests_total", ["task": "classify-image", "outcome": "overloaded"]) == 1)
        #expect(samples.total("s2m3_requests_total", ["task": "other", "outcome": "unknown-task"]) == 2)
        #expect(samples.named("s2m3_requests_total").allSatisfy { ["classify-image", "other"].contains($0.labels["task"]) })
        // Latency of results only: 40 ms and 3 s.
        #expect(samples.total("s2m3_request_duration_seconds_count", ["task": "classify-image"]) == 2)
        #expect(samples.total("s2m3_request_duration_seconds_bucket", ["task": "classify-image", "le": "0.05"]) == 1)
        #expect(samples.total("s2m3_request_duration_seconds_bucket", ["task": "classify-image", "le": "5.0"]) == 2)
        #expect(abs(samples.total("s2m3_request_duration_seconds_sum", ["task": "classify-image"]) - 3.04) < 1e-9)
        #expect(samples.named("s2m3_request_duration_seconds_count", ["task": "other"]).isEmpty)
    }

    @Test func aNegativeDurationCountsAsZero() {
        let metrics = PrometheusMetrics()
        RequestMetrics(tasks: ["read-text"], factory: metrics.factory).result(task: "read-text", totalMs: -5)
        let samples = MetricsScrape.samples(String(decoding: metrics.exposition(), as: UTF8.self))
        #expect(samples.total("s2m3_request_duration_seconds_sum", ["task": "read-text"]) == 0)
        #expect(samples.total("s2m3_request_duration_seconds_bucket", ["task": "read-text", "le": "0.005"]) == 1)
    }

    @Test func theScrapeParserReadsLabelsAndValues() {
        let text = "# TYPE a_total counter\na_total{x=\"1\",y=\"b c\"} 3\nplain 2.5\n\n# HELP ignored\n"
        let samples = MetricsScrape.samples(text)
        #expect(samples == [
            MetricsScrape.Sample(name: "a_total", labels: ["x": "1", "y": "b c"], value: 3),
            MetricsScrape.Sample(name: "plain", labels: [:], value: 2.5),
        ])
    }
}

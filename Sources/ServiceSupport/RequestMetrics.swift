import CoreMetrics

/// The answers a service gives to task requests (the aggregator's and `s2m3 serve`'s):
/// `s2m3_requests_total{task, outcome}` (outcome `result` or the error code) and, for results,
/// `s2m3_request_duration_seconds{task}` (docs/operations.md). Task labels are held to the tasks
/// the service knows (others count as `other`), so clients cannot grow the label set. Made from
/// the global `MetricsSystem` factory (a no-op until an executable bootstraps one) unless given one.
public struct RequestMetrics: Sendable {
    public static let otherTask = "other"
    private let knownTasks: Set<String>
    private let factory: any MetricsFactory

    public init(tasks: some Sequence<String>, factory: any MetricsFactory = MetricsSystem.factory) {
        knownTasks = Set(tasks)
        self.factory = factory
    }

    /// The label `task` gets.
    public func taskLabel(_ task: String) -> String { knownTasks.contains(task) ? task : Self.otherTask }

    /// A result, `totalMs` after the request arrived.
    public func result(task: String, totalMs: Double) {
        let task = taskLabel(task)
        Counter(label: "s2m3_requests_total", dimensions: [("task", task), ("outcome", "result")], factory: factory).increment()
        Timer(label: "s2m3_request_duration_seconds", dimensions: [("task", task)], factory: factory)
            .recordNanoseconds(Int64((max(0, totalMs) * 1_000_000).rounded()))
    }

    /// An error answer with code `code` (e.g. `overloaded`, `deadline-exceeded`).
    public func error(task: String, code: String) {
        Counter(label: "s2m3_requests_total", dimensions: [("task", taskLabel(task)), ("outcome", code)], factory: factory).increment()
    }
}

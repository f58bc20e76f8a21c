import CoreMetrics
import S2M3Core
import ServiceSupport

/// What an aggregator counts (docs/operations.md): answers by task and outcome, the latency of
/// results, invocations sent by module, retries, `busy` answers, duplicates, dropped partials,
/// overload refusals (by reason), requests in flight (in all and per task) and the plan epoch in
/// use. Made from the global `MetricsSystem` factory (a no-op until an executable bootstraps one). Task labels are held to the catalog's tasks (``RequestMetrics``).
struct AggregatorMetrics {
    private let requests: RequestMetrics
    private let retries = Counter(label: "s2m3_aggregator_retries_total")
    private let duplicates = Counter(label: "s2m3_aggregator_duplicate_requests_total")
    private let droppedPartials = Counter(label: "s2m3_aggregator_dropped_partials_total")
    private let overloaded = Counter(label: "s2m3_aggregator_overloaded_total")
    private let inFlight = Gauge(label: "s2m3_aggregator_requests_in_flight")
    private let busyAnswers = Counter(label: "s2m3_aggregator_busy_answers_total")
    private let rejected: [RejectReason: Counter]
    private let taskInFlight: [String: Gauge]
    private let planEpoch = Gauge(label: "s2m3_plan_epoch")
    private var seen = AggregatorStateMachine.Statistics()

    init(tasks: some Sequence<String>) {
        requests = RequestMetrics(tasks: tasks)
        var rejected: [RejectReason: Counter] = [:]
        for reason in RejectReason.allCases {
            rejected[reason] = Counter(label: "s2m3_aggregator_rejected_total", dimensions: [("reason", reason.rawValue)])
        }
        self.rejected = rejected
        var gauges: [String: Gauge] = [:]
        for task in tasks { gauges[task] = Gauge(label: "s2m3_aggregator_task_requests_in_flight", dimensions: [("task", task)]) }
        taskInFlight = gauges
    }

    func answered(_ result: TaskResult) { requests.result(task: result.task, totalMs: result.totalMs) }

    func answered(_ error: TaskErrorMessage) {
        requests.error(task: error.task, code: error.code.rawValue)
        if error.code == .overloaded { overloaded.increment() }
    }

    /// Counts one module run asked for per node: the invocation's own and each chained step's.
    func sent(_ invocation: RequestExecution.Invocation) {
        for module in [invocation.request.module] + invocation.request.chain.map(\.module) {
            Counter(label: "s2m3_aggregator_invocations_total", dimensions: [("module", module)]).increment()
        }
        if invocation.request.attempt > 1 { retries.increment() }
    }

    func plan(epoch: Int) { planEpoch.record(epoch) }

    /// Counts what the state machine's counters gained since the last call.
    mutating func update(_ statistics: AggregatorStateMachine.Statistics, activeRequests: Int, byTask: [String: Int]) {
        duplicates.increment(by: statistics.duplicateRequests - seen.duplicateRequests)
        droppedPartials.increment(by: statistics.droppedPartials - seen.droppedPartials)
        busyAnswers.increment(by: statistics.busyAnswers - seen.busyAnswers)
        for (reason, count) in statistics.rejected where count != seen.rejected[reason] {
            rejected[reason]?.increment(by: count - (seen.rejected[reason] ?? 0))
        }
        seen = statistics
        inFlight.record(activeRequests)
        for (task, gauge) in taskInFlight { gauge.record(byTask[task] ?? 0) }
    }
}

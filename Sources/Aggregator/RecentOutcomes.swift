import S2M3Core

/// Counts of an aggregator's recent requests, results and errors (by code), in one-second buckets
/// over a sliding window: what its telemetry reports (``AggregatorTelemetry``). Pure: time is
/// passed in.
public struct RecentOutcomes: Sendable, Hashable {
    struct Bucket: Sendable, Hashable {
        var second: Int
        var requests = 0
        var results = 0
        var errors: [String: Int] = [:]
        /// Results by task.
        var tasks: [String: Int] = [:]
    }

    /// The window of the counts, seconds.
    public let windowSeconds: Int
    /// The window of the request rate, seconds (at most ``windowSeconds``).
    public let rateSeconds: Int
    /// Oldest first; at most `windowSeconds` buckets, none older than the window of the newest.
    private var buckets: [Bucket] = []
    /// Recent requests' times from receipt to result, by task (``TaskResult/totalMs``).
    private var taskTimes = RecentTimings()
    /// Recent invocations' time on the bus, both ways (``TaskTimelineEntry/transferMs``).
    private var transfers = RecentTimings(window: 512)
    private static let transferKey = "transfer"

    public init(windowSeconds: Int = 60, rateSeconds: Int = 10) {
        precondition(windowSeconds >= 1 && (1...windowSeconds).contains(rateSeconds))
        self.windowSeconds = windowSeconds
        self.rateSeconds = rateSeconds
    }

    public mutating func request(nowMs: Double) { update(nowMs) { $0.requests += 1 } }
    public mutating func result(nowMs: Double) { update(nowMs) { $0.results += 1 } }
    /// A request's result: counted, and its time and its invocations' transfers measured.
    public mutating func result(_ result: TaskResult, nowMs: Double) {
        update(nowMs) {
            $0.results += 1
            $0.tasks[result.task, default: 0] += 1
        }
        taskTimes.record(result.task, ms: result.totalMs)
        for entry in result.timeline where entry.transferMs >= 0 { transfers.record(Self.transferKey, ms: entry.transferMs) }
    }
    public mutating func error(_ code: TaskErrorCode, nowMs: Double) { update(nowMs) { $0.errors[code.rawValue, default: 0] += 1 } }

    /// The counts of the window ending at `nowMs`.
    public func telemetry(aggregator: String, epoch: Int?, inFlight: Int, nowMs: Double) -> AggregatorTelemetry {
        let now = Self.second(nowMs)
        let window = buckets.filter { $0.second > now - windowSeconds }
        let rate = window.filter { $0.second > now - rateSeconds }.reduce(0) { $0 + $1.requests }
        var errors: [String: Int] = [:], tasks: [String: Int] = [:]
        for bucket in window { errors.merge(bucket.errors, uniquingKeysWith: +) }
        for bucket in window where bucket.second > now - rateSeconds { tasks.merge(bucket.tasks, uniquingKeysWith: +) }
        return AggregatorTelemetry(
            aggregator: aggregator, timestampMs: Int(nowMs), epoch: epoch, inFlight: inFlight,
            requestsPerSecond: Double(rate) / Double(rateSeconds), rateWindowMs: rateSeconds * 1000,
            windowMs: windowSeconds * 1000, requests: window.reduce(0) { $0 + $1.requests },
            results: window.reduce(0) { $0 + $1.results }, errors: errors,
            tasks: taskTimes.snapshot, transfer: transfers.snapshot[Self.transferKey],
            taskRates: tasks.mapValues { Double($0) / Double(rateSeconds) })
    }

    /// Counts into the bucket of `nowMs`'s second (a late event into its own, when still in the
    /// window; buckets stay sorted), dropping buckets older than the window.
    private mutating func update(_ nowMs: Double, _ change: (inout Bucket) -> Void) {
        let second = Self.second(nowMs)
        let newest = max(second, buckets.last?.second ?? second)
        buckets.removeAll { $0.second <= newest - windowSeconds }
        guard second > newest - windowSeconds else { return }
        if let index = buckets.lastIndex(where: { $0.second <= second }), buckets[index].second == second {
            change(&buckets[index])
        } else {
            var bucket = Bucket(second: second)
            change(&bucket)
            buckets.insert(bucket, at: buckets.firstIndex { $0.second > second } ?? buckets.endIndex)
        }
    }

    private static func second(_ ms: Double) -> Int { Int((ms / 1000).rounded(.down)) }
}

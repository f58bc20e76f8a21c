import S2M3Core

/// What one source's stream did, for its telemetry (``StreamTelemetry``): totals since the start
/// and, over a sliding window, arrival and start times and each task's latencies. Pure.
struct StreamFigures: Sendable {
    static let windowMs = 10_000.0
    /// Samples kept per series, whatever the rate (bounded memory).
    static let maxSamples = 4_096

    var framesIn = 0
    var framesProcessed = 0
    var drops: [String: Int] = [:]
    var results: [String: Int] = [:]
    var errors: [String: Int] = [:]
    /// Per task: frames received while it was subscribed, frames it ran on, frames it skipped by reason.
    var taskFramesIn: [String: Int] = [:]
    var taskFramesProcessed: [String: Int] = [:]
    var skipped: [String: [String: Int]] = [:]
    private var arrivals: [Double] = []
    private var starts: [Double] = []
    /// Per task: (when, latency ms).
    private var latencies: [String: [(at: Double, ms: Double)]] = [:]

    mutating func arrived(nowMs: Double) {
        framesIn += 1
        Self.append(nowMs, to: &arrivals)
    }

    mutating func started(nowMs: Double) {
        framesProcessed += 1
        Self.append(nowMs, to: &starts)
    }

    mutating func dropped(_ reason: String, count: Int = 1) { drops[reason, default: 0] += count }

    /// A frame arrived for these tasks (each will run on it or skip it).
    mutating func arrived(for tasks: some Sequence<String>) { for task in tasks { taskFramesIn[task, default: 0] += 1 } }

    /// `task` runs on a frame.
    mutating func processed(_ task: String) { taskFramesProcessed[task, default: 0] += 1 }

    /// `task` skips a frame for `reason`.
    mutating func skipped(_ task: String, _ reason: String) { skipped[task, default: [:]][reason, default: 0] += 1 }

    mutating func result(_ task: String, latencyMs: Double, nowMs: Double) {
        results[task, default: 0] += 1
        var series = latencies[task] ?? []
        series.append((nowMs, latencyMs))
        if series.count > Self.maxSamples { series.removeFirst(series.count - Self.maxSamples) }
        latencies[task] = series
    }

    mutating func error(_ task: String) { errors[task, default: 0] += 1 }

    /// The telemetry message at `nowMs`.
    func telemetry(source: String, aggregator: String, nowMs: Double) -> StreamTelemetry {
        let since = nowMs - Self.windowMs
        let seconds = Self.windowMs / 1000
        var tasks: [String: StreamTelemetry.TaskFigures] = [:]
        for task in Set(results.keys).union(errors.keys).union(taskFramesIn.keys) {
            let recent = (latencies[task] ?? []).filter { $0.at >= since }.map(\.ms).sorted()
            tasks[task] = StreamTelemetry.TaskFigures(
                results: results[task] ?? 0, errors: errors[task] ?? 0,
                latencyP50Ms: Self.percentile(recent, 0.5), latencyP99Ms: Self.percentile(recent, 0.99),
                framesIn: taskFramesIn[task] ?? 0, framesProcessed: taskFramesProcessed[task] ?? 0, skipped: skipped[task] ?? [:])
        }
        return StreamTelemetry(
            source: source, aggregator: aggregator, timestampMs: Int(nowMs), windowMs: Int(Self.windowMs),
            framesInPerSecond: Double(arrivals.filter { $0 >= since }.count) / seconds,
            framesProcessedPerSecond: Double(starts.filter { $0 >= since }.count) / seconds,
            framesIn: framesIn, framesProcessed: framesProcessed, drops: drops, tasks: tasks)
    }

    /// The nearest-rank percentile of sorted values (nil when empty).
    static func percentile(_ sorted: [Double], _ fraction: Double) -> Double? {
        guard !sorted.isEmpty else { return nil }
        let rank = Int((fraction * Double(sorted.count)).rounded(.up))
        return sorted[min(max(rank, 1), sorted.count) - 1]
    }

    private static func append(_ value: Double, to series: inout [Double]) {
        series.append(value)
        if series.count > maxSamples { series.removeFirst(series.count - maxSamples) }
    }
}

import Foundation
import S2M3Core

/// What a planner has learned from telemetry about the cost model's figures: the compute of each
/// module (from the times devices measure) and the link's latency (from the transfers aggregators
/// measure). Pure; ``PlannerStateMachine`` feeds it and plans with ``apply(to:)``.
///
/// - A module's GFLOP on device d is its measured p50 there × d's speed (the calibrated one when
///   telemetry replaced the announced one), so predicting it on d gives back the p50 measured on d
///   and on another device scales with that device's speed. The module's figure is the median over
///   the devices that measured it. Built-ins, which the catalog counts as 0 GFLOP, get their time
///   this way too.
/// - The link's one-way latency is half the median time an invocation spends on the bus (both
///   ways, `transferMs` of the timelines), median over aggregators.
/// - A task's rate is the sum over aggregators of the results per second each reports, counted
///   from ``hotRate`` up, or at any rate while requests overlap (an aggregator's rates × its tasks'
///   measured p50s, Little's law, hold at least ``overlappingRequests`` in flight on average): a
///   light load keeps the instance's rate, so one-at-a-time use is not planned as a queue, while
///   slow tasks sent concurrently count even when each is rare. The load that makes replicas of
///   their modules pay.
public struct LearnedCosts: Sendable, Hashable {
    /// Requests per second from which a task's measured rate replaces the instance's.
    public static let hotRate = 0.5
    /// Requests in flight on average (Little's law over an aggregator's report) from which every
    /// measured rate counts, however low: one-at-a-time use holds at most one.
    public static let overlappingRequests = 1.5
    /// The most of the devices' summed speed measured rates are planned to use (beyond it the
    /// rates are scaled down: overload is admission control's to answer).
    public static let maximumPlannedUtilisation = 0.7
    /// Reports older than this behind the newest one no longer count, ms.
    static let rateFreshnessMs = 15_000
    /// Module id → device id → GFLOP per invocation measured there.
    private var measured: [String: [String: Double]] = [:]
    /// Aggregator id → one-way latency, ms.
    private var latencies: [String: Double] = [:]
    /// Aggregator id → when it reported (its clock, ms) and its task rates, requests/s.
    private var rates: [String: RateReport] = [:]

    struct RateReport: Sendable, Hashable {
        var atMs: Int
        var byTask: [String: Double]
        /// Whether the aggregator held ``overlappingRequests`` or more in flight on average.
        var overlapping: Bool
    }

    public init() {}

    /// The learned GFLOP per module (median over devices).
    public var moduleGflop: [String: Double] {
        measured.compactMapValues { byDevice in byDevice.isEmpty ? nil : Self.median(Array(byDevice.values)) }
    }

    /// The learned one-way link latency, ms (median over aggregators), or nil.
    public var linkLatencyMs: Double? {
        latencies.isEmpty ? nil : Self.median(Array(latencies.values))
    }

    /// Takes a device's timings of the modules `known` (instance module ids): each with at least
    /// `minimumSamples` invocations replaces that device's figure. `gflops` is the device's speed.
    public mutating func learn(from report: DeviceTelemetry, gflops: Double, known: Set<String>, minimumSamples: Int) {
        guard gflops > 0, gflops.isFinite else { return }
        for (module, timing) in report.modules where known.contains(module) && timing.count >= minimumSamples {
            let gflop = timing.p50Ms / 1000 * gflops
            guard gflop.isFinite, gflop >= 0 else { continue }
            measured[module, default: [:]][report.device] = gflop
        }
    }

    /// The measured rates of the tasks at or above ``hotRate``, or of every task while requests
    /// overlap, requests/s (summed over the aggregators that reported within ``rateFreshnessMs``
    /// of the newest report).
    public var taskRates: [String: Double] {
        guard let newest = rates.values.map(\.atMs).max() else { return [:] }
        var sum: [String: Double] = [:]
        var overlapping = false
        for entry in rates.values where entry.atMs >= newest - Self.rateFreshnessMs {
            sum.merge(entry.byTask, uniquingKeysWith: +)
            overlapping = overlapping || entry.overlapping
        }
        return sum.filter { ($0.value >= Self.hotRate || overlapping) && $0.value > 0 && $0.value.isFinite }
    }

    /// Takes an aggregator's median transfer, when measured over at least `minimumSamples`
    /// invocations, and its task rates.
    public mutating func learn(from report: AggregatorTelemetry, minimumSamples: Int) {
        if let byTask = report.taskRates {
            // Little's law: results per second × seconds each takes = requests in flight on average.
            let inFlight = byTask.reduce(0.0) { sum, entry in
                guard let p50 = report.tasks?[entry.key]?.p50Ms, p50.isFinite, entry.value.isFinite else { return sum }
                return sum + entry.value * p50 / 1000
            }
            // Rounded to two significant digits: noise in the last digit is not a new load.
            rates[report.aggregator] = RateReport(
                atMs: report.timestampMs, byTask: byTask.mapValues(Self.rounded), overlapping: inFlight >= Self.overlappingRequests)
        }
        guard let transfer = report.transfer, transfer.count >= minimumSamples else { return }
        latencies[report.aggregator] = transfer.p50Ms / 2
    }

    static func rounded(_ value: Double) -> Double {
        guard value > 0, value.isFinite else { return 0 }
        let scale = pow(10, floor(log10(value)) - 1)
        return (value / scale).rounded() * scale
    }

    /// Forgets what a device measured (it left or restarted).
    public mutating func forget(device: String) {
        for module in Array(measured.keys) {
            measured[module]?[device] = nil
            if measured[module]?.isEmpty == true { measured[module] = nil }
        }
    }

    /// `instance` with the learned figures in place of the declared ones (modules not measured and
    /// the link, when not measured, as declared).
    /// `rates` false leaves the tasks' rates as declared.
    public func apply(to instance: PlacementInstance, rates: Bool = true) -> PlacementInstance {
        var result = instance
        let gflop = moduleGflop
        for index in result.modules.indices {
            if let learned = gflop[result.modules[index].id] { result.modules[index].gflop = learned }
        }
        if let latency = linkLatencyMs {
            for index in result.devices.indices { result.devices[index].link.latencyMs = latency }
        }
        let hot = rates ? taskRates : [:]
        var raised: [Int: Double] = [:]  // task index → its declared rate
        for index in result.tasks.indices {
            if let rate = hot[result.tasks[index].id], rate > result.tasks[index].rate {
                raised[index] = result.tasks[index].rate
                result.tasks[index].rate = rate
            }
        }
        // A load past what the devices compute is overload, for admission control to answer: the
        // measured rates are scaled down to keep the planned demand at `maximumPlannedUtilisation`
        // of the devices' summed speed.
        let capacity = result.devices.reduce(0) { $0 + $1.gflops }
        let perModule = Dictionary(result.modules.map { ($0.id, $0.gflop) }, uniquingKeysWith: { first, _ in first })
        func demand(_ task: PlacementTask) -> Double { task.rate * task.graph.nodes.reduce(0) { $0 + (perModule[$1.module] ?? 0) } }
        let total = result.tasks.reduce(0) { $0 + demand($1) }
        let limit = Self.maximumPlannedUtilisation * capacity
        if !raised.isEmpty, capacity > 0, total > limit {
            let hotDemand = raised.keys.reduce(0) { $0 + demand(result.tasks[$1]) }
            let scale = hotDemand > 0 ? max(0, limit - (total - hotDemand)) / hotDemand : 1
            for (index, declared) in raised { result.tasks[index].rate = max(declared, result.tasks[index].rate * scale) }
        }
        return result
    }

    static func median(_ values: [Double]) -> Double {
        let sorted = values.sorted()
        let middle = sorted.count / 2
        return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
    }
}

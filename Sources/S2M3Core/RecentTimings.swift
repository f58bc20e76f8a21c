/// A measured duration as telemetry reports it: the median of a recent window and how many were
/// measured in all (the window may be shorter).
public struct MeasuredTiming: Codable, Sendable, Hashable {
    public var p50Ms: Double
    public var count: Int
    public init(p50Ms: Double, count: Int) {
        self.p50Ms = p50Ms
        self.count = count
    }

    /// Checks the figures of the timing at `field`.
    func validate(_ field: String) throws(MessageError) {
        try MessageCheck.within(p50Ms, ValueRange.durationMs, "\(field).p50Ms")
        try MessageCheck.within(count, ValueRange.count, "\(field).count")
    }

    /// Checks timings by identifier (`field.{key}` in errors).
    static func validate(_ timings: [String: MeasuredTiming], _ field: String) throws(MessageError) {
        for (key, timing) in timings.sorted(by: { $0.key < $1.key }) {
            try MessageCheck.identifier(key, "\(field).\(LimitsConfiguration.echo(key))")
            try timing.validate("\(field).\(key)")
        }
    }
}

/// Measured durations by key (a module on a device, a task at an aggregator): the median over a
/// recent window and the total count, as telemetry reports them. Pure.
public struct RecentTimings: Sendable, Hashable {
    public let window: Int
    private var samples: [String: [Double]] = [:]
    private var counts: [String: Int] = [:]

    public init(window: Int = 128) { self.window = max(1, window) }

    public mutating func record(_ key: String, ms: Double) {
        var recent = samples[key, default: []]
        recent.append(ms)
        if recent.count > window { recent.removeFirst(recent.count - window) }
        samples[key] = recent
        counts[key, default: 0] += 1
    }

    /// The median of the window (mean of the middle two for an even count).
    public static func median(_ values: [Double]) -> Double {
        guard !values.isEmpty else { return 0 }
        let sorted = values.sorted()
        let middle = sorted.count / 2
        return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
    }

    public var snapshot: [String: MeasuredTiming] {
        samples.reduce(into: [:]) { out, entry in
            out[entry.key] = MeasuredTiming(p50Ms: Self.median(entry.value), count: counts[entry.key] ?? 0)
        }
    }
}

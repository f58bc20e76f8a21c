import S2M3Core

/// Measured compute times per module: the median over a recent window and the total count, as
/// telemetry reports them (queue wait excluded).
public struct ModuleTimings: Sendable {
    public let window: Int
    private var samples: [String: [Double]] = [:]
    private var counts: [String: Int] = [:]

    public init(window: Int = 128) { self.window = max(1, window) }

    public mutating func record(module: String, computeMs: Double) {
        var recent = samples[module, default: []]
        recent.append(computeMs)
        if recent.count > window { recent.removeFirst(recent.count - window) }
        samples[module] = recent
        counts[module, default: 0] += 1
    }

    /// The median of the window (mean of the middle two for an even count).
    public static func median(_ values: [Double]) -> Double {
        guard !values.isEmpty else { return 0 }
        let sorted = values.sorted()
        let middle = sorted.count / 2
        return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
    }

    public var snapshot: [String: DeviceTelemetry.ModuleTiming] {
        samples.reduce(into: [:]) { out, entry in
            out[entry.key] = DeviceTelemetry.ModuleTiming(p50Ms: Self.median(entry.value), count: counts[entry.key] ?? 0)
        }
    }
}

import CoreMetrics
import Foundation
import Prometheus
import Synchronization

/// The process's Prometheus registry behind swift-metrics. Executables call ``bootstrap()`` once,
/// before any service makes a metric (libraries never bootstrap: they use the global
/// `MetricsSystem` factory, a no-op until then). Also keeps the process-wide
/// `s2m3_process_resident_memory_bytes` gauge, refreshed at each scrape (``exposition()``).
public final class PrometheusMetrics: Sendable {
    public let registry: PrometheusCollectorRegistry
    private let residentMemory: CoreMetrics.Gauge

    private static let shared = Mutex<PrometheusMetrics?>(nil)

    /// A registry of its own, not bootstrapped (tests, or a factory handed to a library).
    public init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
        self.registry = registry
        residentMemory = CoreMetrics.Gauge(
            label: "s2m3_process_resident_memory_bytes", dimensions: [], factory: PrometheusMetricsFactory(registry: registry))
    }

    /// A swift-metrics factory that records into ``registry``.
    public var factory: PrometheusMetricsFactory { PrometheusMetricsFactory(registry: registry) }

    /// Bootstraps the global `MetricsSystem` with a Prometheus registry the first time it is called
    /// in a process, and returns that registry's ``PrometheusMetrics`` every time.
    public static func bootstrap() -> PrometheusMetrics {
        shared.withLock { current in
            if let current { return current }
            let metrics = PrometheusMetrics()
            MetricsSystem.bootstrap(metrics.factory)
            current = metrics
            return metrics
        }
    }

    /// The exposition text (Prometheus text format 0.0.4), with resident memory read now.
    public func exposition() -> [UInt8] {
        if let bytes = Self.residentBytes() { residentMemory.record(bytes) }
        var buffer: [UInt8] = []
        buffer.reserveCapacity(16 * 1024)
        registry.emit(into: &buffer)
        return buffer
    }

    /// Resident memory of this process from `/proc/self/statm` (pages × page size), nil when unreadable.
    static func residentBytes() -> Int? {
        guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return nil }
        let fields = text.split(separator: " ")
        guard fields.count > 1, let pages = Int(fields[1]) else { return nil }
        return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
    }
}

import CoreMetrics

/// What a device agent counts (docs/operations.md), every series labelled with its `device`:
/// invocations and compute time by module, queue depth, refusals by reason (`busy` among them),
/// repeated invocations dropped, the memory counted for the loaded modules and the assignment
/// epoch applied. Made from the global `MetricsSystem` factory (a no-op until an executable
/// bootstraps one). Module labels are only those of modules loaded here.
struct DeviceMetrics: Sendable {
    let device: String
    private let queueDepth: Gauge
    private let duplicates: Counter
    private let moduleMemory: Gauge
    private let planEpoch: Gauge
    private let residentMemory: Gauge
    private let peakResidentMemory: Gauge

    init(device: String) {
        self.device = device
        let dimensions = [("device", device)]
        queueDepth = Gauge(label: "s2m3_device_queue_depth", dimensions: dimensions)
        duplicates = Counter(label: "s2m3_device_duplicate_invocations_total", dimensions: dimensions)
        moduleMemory = Gauge(label: "s2m3_device_module_memory_bytes", dimensions: dimensions)
        planEpoch = Gauge(label: "s2m3_plan_epoch", dimensions: dimensions)
        residentMemory = Gauge(label: "s2m3_device_resident_memory_bytes", dimensions: dimensions)
        peakResidentMemory = Gauge(label: "s2m3_device_peak_resident_memory_bytes", dimensions: dimensions)
    }

    /// The agent's budget and own footprint, once at start.
    func budget(bytes: Int, baseBytes: Int) {
        Gauge(label: "s2m3_device_memory_budget_bytes", dimensions: [("device", device)]).record(bytes)
        Gauge(label: "s2m3_device_base_memory_bytes", dimensions: [("device", device)]).record(baseBytes)
    }

    /// With each telemetry: the process's resident memory now and its peak since it started.
    func memory(residentBytes: Int, peakBytes: Int?) {
        residentMemory.record(residentBytes)
        if let peakBytes { peakResidentMemory.record(peakBytes) }
    }

    /// An invocation of a loaded module answered `ok` or `error` after `computeMs` of compute.
    func invoked(module: String, ok: Bool, computeMs: Double) {
        Counter(label: "s2m3_device_invocations_total", dimensions: [("device", device), ("module", module), ("status", ok ? "ok" : "error")])
            .increment()
        Timer(label: "s2m3_device_compute_duration_seconds", dimensions: [("device", device), ("module", module)])
            .recordNanoseconds(Int64((computeMs * 1_000_000).rounded()))
    }

    func queue(depth: Int) { queueDepth.record(depth) }

    func refused(_ refusal: DeviceAgentAction.Refusal) {
        Counter(label: "s2m3_device_refused_total", dimensions: [("device", device), ("reason", refusal.rawValue)]).increment()
    }
    func droppedDuplicate() { duplicates.increment() }

    /// After an assignment was handled: the memory counted for what is loaded, and its epoch if applied.
    func hosting(usedBytes: Int, appliedEpoch: Int?) {
        moduleMemory.record(usedBytes)
        if let appliedEpoch { planEpoch.record(appliedEpoch) }
    }
}

extension DeviceMetrics {
    /// Counts what the state machine reports.
    func count(_ count: DeviceAgentAction.Count) {
        switch count {
        case .refused(let refusal): refused(refusal)
        case .duplicate: droppedDuplicate()
        case .invoked(let module, let ok, let computeMs): invoked(module: module, ok: ok, computeMs: computeMs)
        case .hosting(let usedBytes, let appliedEpoch): hosting(usedBytes: usedBytes, appliedEpoch: appliedEpoch)
        }
    }
}

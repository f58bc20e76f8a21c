import S2M3Core

/// Everything a device agent run is told: who it is, what it may use, what it has attached.
public struct DeviceAgentConfiguration: Sendable {
    /// The device id (a topic identifier).
    public var device: String
    /// Fresh for each run of the agent (see ``DeviceState/session``).
    public var session: String
    /// Memory the whole agent process may use, bytes: its own footprint (``baseMemoryBytes``) and the
    /// modules it loads.
    public var memoryBudgetBytes: Int
    /// The process's own resident memory before any module is loaded (code, libraries, the catalog,
    /// ONNX Runtime's start-up), measured at start; the modules get `memoryBudgetBytes − baseMemoryBytes`.
    public var baseMemoryBytes = 0
    /// Invocations waiting or running before the device answers `busy`.
    public var queueCapacity: Int
    /// Invocations computed at once (inference threads).
    public var inferenceThreads: Int
    public var sensors: [DeviceCapabilities.Sensor]
    /// From the start-up benchmark (``ComputeCalibration``).
    public var computeGflops: Double
    public var topics: Topics
    /// How often telemetry is published.
    public var telemetryInterval: Duration
    public var softwareVersion: String
    /// Whether each module runs once on a dummy input after loading, before it is announced
    /// (``LoadedModule/warmUp()``); off only to measure what it saves.
    public var warmUp = true
    /// Invocations of one batchable module run as one when they wait together (1: never). A worker
    /// that becomes free takes the next invocation and up to `maxBatch - 1` more of the same
    /// module and shapes from the queue.
    public var maxBatch = 8
    /// How long an invocation of a batchable module that finds a worker free waits for others to
    /// join it (ms; 0: it starts at once, and batches form only from invocations that queued).
    public var batchWaitMs = 0.0

    public init(
        device: String, session: String, memoryBudgetBytes: Int, queueCapacity: Int = 16, inferenceThreads: Int = 1,
        sensors: [DeviceCapabilities.Sensor] = [], computeGflops: Double, topics: Topics = Topics(),
        telemetryInterval: Duration = .seconds(1), softwareVersion: String = DeviceAgentConfiguration.version
    ) {
        self.device = device
        self.session = session
        self.memoryBudgetBytes = memoryBudgetBytes
        self.queueCapacity = queueCapacity
        self.inferenceThreads = inferenceThreads
        self.sensors = sensors
        self.computeGflops = computeGflops
        self.topics = topics
        self.telemetryInterval = telemetryInterval
        self.softwareVersion = softwareVersion
    }

    /// The version of S2M3 the agent reports in its capabilities.
    public static let version = "0.1.0"

    /// Reads `cam0:camera,mic0:microphone` (kinds: camera, microphone, text, other).
    public static func sensors(parsing text: String) throws(DeviceAgentError) -> [DeviceCapabilities.Sensor] {
        var out: [DeviceCapabilities.Sensor] = []
        for item in text.split(separator: ",", omittingEmptySubsequences: true) {
            let parts = item.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
            guard parts.count == 2, Topics.isValidIdentifier(parts[0]),
                let kind = DeviceCapabilities.SensorKind(rawValue: parts[1])
            else {
                throw DeviceAgentError(
                    .invalidSetting,
                    "sensor '\(item)' is not id:kind (kinds: camera, microphone, text, other), e.g. cam0:camera")
            }
            guard !out.contains(where: { $0.id == parts[0] }) else {
                throw DeviceAgentError(.invalidSetting, "sensor id '\(parts[0])' is listed twice")
            }
            out.append(.init(id: parts[0], kind: kind))
        }
        return out
    }

    /// Checks the settings: a clear error for each bad one.
    public func validate() throws(DeviceAgentError) {
        guard Topics.isValidIdentifier(device) else {
            throw DeviceAgentError(.invalidSetting, "device id '\(device)' must be 1–128 letters, digits, '-', '_' or '.'")
        }
        guard memoryBudgetBytes > 0, memoryBudgetBytes <= ValueRange.bytes.upperBound else {
            throw DeviceAgentError(.invalidSetting, "the memory budget must be in 1…\(ValueRange.bytes.upperBound) bytes")
        }
        guard baseMemoryBytes >= 0 else { throw DeviceAgentError(.invalidSetting, "the base memory cannot be negative") }
        guard baseMemoryBytes < memoryBudgetBytes else {
            throw DeviceAgentError(
                .invalidSetting,
                "the agent's own footprint, \(MemoryAmount.text(baseMemoryBytes)) (measured at start: the process, its catalog and ONNX Runtime), "
                    + "leaves nothing of the memory budget \(MemoryAmount.text(memoryBudgetBytes)) for modules; give a larger --memory")
        }
        guard queueCapacity >= 1 else { throw DeviceAgentError(.invalidSetting, "the queue capacity must be at least 1") }
        guard inferenceThreads >= 1 else { throw DeviceAgentError(.invalidSetting, "inference threads must be at least 1") }
        guard (1...256).contains(maxBatch) else { throw DeviceAgentError(.invalidSetting, "the largest batch must be in 1…256 invocations") }
        guard (0...1000).contains(batchWaitMs) else { throw DeviceAgentError(.invalidSetting, "the batch wait must be in 0…1000 ms") }
        guard ValueRange.gflops.contains(computeGflops) else {
            throw DeviceAgentError(
                .invalidSetting, "computeGflops must be a number in \(ValueRange.gflops.lowerBound)…\(ValueRange.gflops.upperBound)")
        }
    }
}

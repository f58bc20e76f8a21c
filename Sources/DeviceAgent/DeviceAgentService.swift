import Foundation
import Inference
import Logging
import MQTTBus
import Runtime
import S2M3Core

/// Runs a device agent over an MQTT connection (topics.md, device topics): announces the device
/// (retained `online` state and capabilities; the connection's will marks it offline), follows its
/// retained assignment (``HostingState`` decides, the ``ModuleLoader`` loads), answers
/// invocations of the hosted modules through a bounded ``InvocationQueue``, and publishes telemetry
/// about once a second. ``shutdown()`` says `offline` (reason `shutdown`) and disconnects.
///
/// The connection must be configured with ``will(for:)`` as its will, clean start, no session expiry.
public actor DeviceAgentService {
    let connection: MQTTConnection
    let configuration: DeviceAgentConfiguration
    let loader: ModuleLoader
    let logger: Logger
    var topics: Topics { configuration.topics }
    var device: String { configuration.device }

    var hosting: HostingState
    var modules: [String: any LoadedModule] = [:]
    /// Invoke topic → module, for the modules subscribed.
    var invokeTopics: [String: String] = [:]
    var queue: InvocationQueue<UInt64>
    var waitingJobs: [UInt64: InvocationJob] = [:]
    var nextTicket: UInt64 = 0
    var duplicates = DuplicateFilter<InvocationKey>()
    var timings = ModuleTimings()
    var pendingAssignment: PendingAssignment?
    var applyingAssignment = false
    private var telemetryTask: Task<Void, Never>?
    private var stopping = false

    public init(connection: MQTTConnection, configuration: DeviceAgentConfiguration, loader: ModuleLoader, logger: Logger) {
        self.connection = connection
        self.configuration = configuration
        self.loader = loader
        self.logger = logger
        hosting = HostingState(
            device: configuration.device, budgetBytes: configuration.memoryBudgetBytes,
            catalogDigests: Dictionary(loader.catalog.modules.map { ($0.id, $0.digest) }, uniquingKeysWith: { first, _ in first }))
        queue = InvocationQueue(capacity: configuration.queueCapacity, workers: configuration.inferenceThreads)
    }

    /// The last will to register on the agent's connection: its `offline` state, reason `last-will`.
    public static func will(for configuration: DeviceAgentConfiguration) throws(MessageError) -> MQTTMessage {
        let state = DeviceState.lastWill(device: configuration.device, session: configuration.session, timestampMs: nowMs())
        return try MQTTMessage.agentControl(topic: configuration.topics.deviceState(configuration.device), state, retain: true)
    }

    /// Connects, announces, subscribes, and serves until ``shutdown()`` or the task is cancelled.
    public func run() async throws {
        try configuration.validate()
        try await connection.connect()
        let stream = connection.messages
        try await publishCapabilities()
        try await publishState(.online)
        try await connection.subscribe(topics.deviceState(device))
        try await connection.subscribe(topics.deviceAssignment(device))
        try await connection.subscribe(topics.plan)
        logger.info("device \(device) online (session \(configuration.session), budget \(MemoryAmount.text(configuration.memoryBudgetBytes)))")
        telemetryTask = Task { [weak self, interval = configuration.telemetryInterval] in
            while !Task.isCancelled {
                await self?.publishTelemetry()
                try? await Task.sleep(for: interval)
            }
        }
        for await message in stream {
            if Task.isCancelled { break }
            await receive(message)
        }
        telemetryTask?.cancel()
    }

    /// Publishes `offline` (reason `shutdown`) and disconnects; ``run()`` then returns.
    public func shutdown() async {
        guard !stopping else { return }
        stopping = true
        telemetryTask?.cancel()
        do {
            try await publishState(.offline, reason: DeviceState.shutdownReason)
        } catch {
            logger.warning("could not publish the offline state: \(error)")
        }
        await connection.disconnect()
        logger.info("device \(device) stopped")
    }

    /// Loaded module ids (for tests and logs).
    public var loadedModules: [String] { modules.keys.sorted() }

    private func receive(_ message: MQTTMessage) async {
        if let module = invokeModule(topic: message.topic) {
            await receiveInvoke(message, module: module)
        } else if message.topic == topics.deviceAssignment(device) {
            receiveAssignment(message)
        } else if message.topic == topics.deviceState(device) {
            await receiveOwnState(message)
        } else if message.topic == topics.plan {
            if let plan = try? PlanMessage(json: message.payload) { logger.debug("plan epoch \(plan.epoch)") }
        }
    }

    /// Re-announces `online` when a will (or shutdown) of another session of this device lands
    /// after this session's `online` (topics.md, last will).
    private func receiveOwnState(_ message: MQTTMessage) async {
        guard !message.payload.isEmpty, !stopping else { return }
        guard let state = try? DeviceState(json: message.payload) else {
            logger.warning("ignoring an invalid state on \(message.topic)")
            return
        }
        guard state.session != configuration.session else { return }
        switch state.status {
        case .offline:
            logger.info("an offline state of session \(state.session) arrived; re-publishing online")
            try? await publishState(.online)
        case .online:
            logger.warning("another agent (session \(state.session)) claims device id \(device)")
        }
    }

    func publishState(_ status: DeviceState.Status, reason: String? = nil) async throws {
        let state = DeviceState(device: device, status: status, session: configuration.session, timestampMs: Self.nowMs(), reason: reason)
        try await connection.publish(MQTTMessage.agentControl(topic: topics.deviceState(device), state, retain: true))
    }

    private func publishCapabilities() async throws {
        let capabilities = DeviceCapabilities(
            device: device, session: configuration.session, memoryBudgetBytes: configuration.memoryBudgetBytes,
            computeGflops: configuration.computeGflops, cores: ProcessInfo.processInfo.activeProcessorCount,
            sensors: configuration.sensors,
            limits: .init(queueCapacity: configuration.queueCapacity, inferenceThreads: configuration.inferenceThreads),
            softwareVersion: configuration.softwareVersion, timestampMs: Self.nowMs())
        try await connection.publish(
            MQTTMessage.agentControl(topic: topics.deviceCapabilities(device), capabilities, retain: true))
    }

    /// The current telemetry (also what is published).
    public func telemetry() -> DeviceTelemetry {
        DeviceTelemetry(
            device: device, timestampMs: Self.nowMs(), queueDepth: queue.depth, queueCapacity: queue.capacity,
            residentMemoryBytes: (try? ResidentMemory.currentBytes()) ?? 0, loadedModules: loadedModules,
            modules: timings.snapshot, assignment: hosting.report)
    }

    func publishTelemetry() async {
        guard !stopping else { return }
        do {
            try await connection.publish(
                MQTTMessage.agentControl(topic: topics.deviceTelemetry(device), telemetry(), qos: .atMostOnce, retain: false))
        } catch {
            logger.debug("telemetry not sent: \(error)")
        }
    }

    static func nowMs() -> Int { Int((Date().timeIntervalSince1970 * 1000).rounded(.down)) }
}

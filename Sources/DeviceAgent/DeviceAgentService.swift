import Foundation
import Inference
import Logging
import MQTTBus
import Runtime
import S2M3Bus
import S2M3Core
import ServiceLifecycle
import ServiceSupport

/// Runs a device agent over an MQTT connection (topics.md, device topics): announces the device
/// (retained `online` state and capabilities; the connection's will marks it offline), follows its
/// retained assignment (``HostingState`` decides, the ``ModuleLoader`` loads), answers
/// invocations of the hosted modules through a bounded ``InvocationQueue``, and publishes telemetry
/// about once a second. ``shutdown()`` drains the queue, says `offline` (reason `shutdown`) and
/// disconnects.
///
/// The connection must be configured with ``will(for:)`` as its will, clean start, no session expiry.
/// A ServiceLifecycle `Service`: graceful shutdown runs ``shutdown()``, and ``run()`` returns.
public actor DeviceAgentService: Service {
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
    var queue: InvocationQueue<UInt64> {
        didSet {
            updateIdle()
            metrics.queue(depth: queue.depth)
        }
    }
    let metrics: DeviceMetrics
    var waitingJobs: [UInt64: InvocationJob] = [:]
    var nextTicket: UInt64 = 0
    var duplicates = DuplicateFilter<InvocationKey>()
    var timings = ModuleTimings()
    var pendingAssignment: PendingAssignment?
    /// Wakes the assignment task (one pending wake is enough: it applies the newest).
    let assignmentSignal: AsyncStream<Void>.Continuation
    private let assignmentWakes: AsyncStream<Void>
    /// Invocations that may start now, taken by the worker tasks (at most `workers` are handed out).
    let startable: AsyncStream<InvocationJob>.Continuation
    private let startableJobs: AsyncStream<InvocationJob>
    var stopping = false
    /// Answers being published now; ``shutdown()`` lets them finish before it disconnects (a
    /// publish racing the disconnect could otherwise wait for an acknowledgement forever).
    var answersInFlight = 0 { didSet { updateIdle() } }
    /// Set just before disconnecting: nothing new is published.
    var closing = false
    /// An assignment is being applied (loads, subscriptions).
    var applyingAssignment = false { didSet { updateIdle() } }
    /// Idle: nothing queued or running, no answer being published, no assignment being applied.
    private let idle = IdleSignal()
    /// No answer being published.
    private let answersDone = IdleSignal()

    /// How long ``shutdown()`` lets queued and running invocations finish.
    public static let drainLimit: Duration = .seconds(10)

    public init(connection: MQTTConnection, configuration: DeviceAgentConfiguration, loader: ModuleLoader, logger: Logger) {
        self.connection = connection
        self.configuration = configuration
        self.loader = loader
        var logger = logger
        logger[metadataKey: "device.id"] = "\(configuration.device)"
        self.logger = logger
        metrics = DeviceMetrics(device: configuration.device)
        hosting = HostingState(
            device: configuration.device, budgetBytes: configuration.memoryBudgetBytes,
            catalogDigests: Dictionary(loader.catalog.modules.map { ($0.id, $0.digest) }, uniquingKeysWith: { first, _ in first }))
        queue = InvocationQueue(capacity: configuration.queueCapacity, workers: configuration.inferenceThreads)
        (assignmentWakes, assignmentSignal) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        (startableJobs, startable) = AsyncStream.makeStream(of: InvocationJob.self)
    }

    /// The last will to register on the agent's connection: its `offline` state, reason `last-will`.
    public static func will(for configuration: DeviceAgentConfiguration) throws(MessageError) -> MQTTMessage {
        let state = DeviceState.lastWill(device: configuration.device, session: configuration.session, timestampMs: nowMs())
        return try MQTTMessage(topic: configuration.topics.deviceState(configuration.device), control: state, on: configuration.topics)
    }

    /// Connects, announces, subscribes, and serves until ``shutdown()`` (or the connection's end).
    /// Its child tasks: the invocation workers, the assignment task, telemetry, reconnect events.
    public func run() async throws {
        try configuration.validate()
        try await connection.connect()
        let stream = connection.messages
        try await publishCapabilities()
        try await publishState(.online)
        try await connection.subscribe(topics.deviceState(device))
        try await connection.subscribe(topics.deviceAssignment(device))
        try await connection.subscribe(topics.plan)
        logger.info(
            "device online",
            metadata: ["session": "\(configuration.session)", "budget.bytes": "\(configuration.memoryBudgetBytes)"])
        let events = connection.events
        await withTaskGroup(of: Void.self) { group in
            // The queue hands out at most `workers` jobs at a time; each runs in its own child task.
            group.addTask {
                await withDiscardingTaskGroup { jobs in
                    for await job in self.startableJobs {
                        jobs.addTask { await self.execute(job) }
                    }
                }
            }
            group.addTask {
                for await _ in self.assignmentWakes { await self.applyPendingAssignments() }
            }
            group.addTask { [interval = configuration.telemetryInterval] in
                while !Task.isCancelled {
                    await self.publishTelemetry()
                    try? await Task.sleep(for: interval)
                }
            }
            group.addTask {
                guard (try? await gracefulShutdown()) != nil else { return }
                await self.shutdown()
            }
            // After a lost connection the broker has published the will: announce again.
            group.addTask {
                for await event in events {
                    guard case .reconnected = event else { continue }
                    await self.reannounce()
                }
            }
            for await message in stream {
                await receive(message)
            }
            startable.finish()
            assignmentSignal.finish()
            group.cancelAll()
        }
    }

    /// Stops taking work (new invocations are answered `busy`), lets queued and running ones
    /// finish (up to ``drainLimit``), publishes `offline` (reason `shutdown`) and disconnects;
    /// ``run()`` then returns.
    public func shutdown() async {
        guard !stopping else { return }
        stopping = true
        for topic in invokeTopics.keys.sorted() { try? await connection.unsubscribe(topic) }
        // Woken by the idle signal, re-checked here: work can start between the signal and this
        // task running again (an answer is published right after its queue slot is freed).
        let deadline = ContinuousClock.now + Self.drainLimit
        while !isIdle, ContinuousClock.now < deadline {
            updateIdle()
            await idle.wait(timeout: deadline - ContinuousClock.now)
        }
        if queue.depth > 0 { logger.warning("stopping with invocations unanswered", metadata: ["queue.depth": "\(queue.depth)"]) }
        do {
            try await publishState(.offline, reason: DeviceState.shutdownReason)
        } catch {
            logger.warning("offline state not published", metadata: ["error": "\(error)"])
        }
        // Answers started meanwhile (busy replies to late invocations) end before the disconnect.
        let answersDeadline = ContinuousClock.now + .seconds(2)
        while answersInFlight > 0, ContinuousClock.now < answersDeadline {
            updateIdle()
            await answersDone.wait(timeout: answersDeadline - ContinuousClock.now)
        }
        closing = true
        await connection.disconnect()
        logger.info("device stopped")
    }

    private var isIdle: Bool { queue.depth == 0 && answersInFlight == 0 && !applyingAssignment }

    private func updateIdle() {
        idle.update(idle: isIdle)
        answersDone.update(idle: answersInFlight == 0)
    }

    private func reannounce() async {
        guard !stopping else { return }
        logger.info("reconnected; announcing again")
        do {
            try await publishCapabilities()
            try await publishState(.online)
        } catch {
            logger.warning("announcing after the reconnect failed", metadata: ["error": "\(error)"])
        }
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
            if let plan = try? PlanMessage(json: message.payload) { logger.debug("plan", metadata: ["plan.epoch": "\(plan.epoch)"]) }
        }
    }

    /// Re-announces `online` when a will (or shutdown) of another session of this device lands
    /// after this session's `online` (topics.md, last will), and when an `offline` of this very
    /// session arrives while it runs (a will of a connection it has since replaced, or a forgery
    /// on a broker without ACLs): a live device is never left evicted.
    private func receiveOwnState(_ message: MQTTMessage) async {
        guard !message.payload.isEmpty, !stopping else { return }
        guard let state = try? DeviceState(json: message.payload) else {
            logger.warning("ignoring an invalid state", metadata: ["mqtt.topic": "\(message.topic)"])
            return
        }
        guard state.session != configuration.session else {
            if state.status == .offline {
                logger.warning("offline state of this running session; announcing online again", metadata: ["state.reason": "\(state.reason ?? "-")"])
                try? await publishState(.online)
            }
            return
        }
        switch state.status {
        case .offline:
            logger.info("offline state of another session; announcing online again", metadata: ["other.session": "\(state.session)"])
            try? await publishState(.online)
        case .online:
            logger.warning("another agent claims this device id", metadata: ["other.session": "\(state.session)"])
        }
    }

    func publishState(_ status: DeviceState.Status, reason: String? = nil) async throws {
        let state = DeviceState(device: device, status: status, session: configuration.session, timestampMs: Self.nowMs(), reason: reason)
        try await connection.publish(MQTTMessage(topic: topics.deviceState(device), control: state, on: topics))
    }

    private func publishCapabilities() async throws {
        let capabilities = DeviceCapabilities(
            device: device, session: configuration.session, memoryBudgetBytes: configuration.memoryBudgetBytes,
            computeGflops: configuration.computeGflops, cores: ProcessInfo.processInfo.activeProcessorCount,
            sensors: configuration.sensors,
            limits: .init(queueCapacity: configuration.queueCapacity, inferenceThreads: configuration.inferenceThreads),
            softwareVersion: configuration.softwareVersion, timestampMs: Self.nowMs())
        try await connection.publish(
            MQTTMessage(topic: topics.deviceCapabilities(device), control: capabilities, on: topics))
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
                MQTTMessage(topic: topics.deviceTelemetry(device), control: telemetry(), on: topics))
        } catch {
            logger.debug("telemetry not sent", metadata: ["error": "\(error)"])
        }
    }

    static func nowMs() -> Int { WallClock.milliseconds }
}
